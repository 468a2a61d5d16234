using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Telemetry;

/// <summary>
/// A metrics backend keeps one series per distinct tag set, for ever: no tag may take its value from what a request
/// chooses. Requests on distinct paths, from distinct callers, with distinct valid and invalid tokens give a handful of
/// tag sets, none carrying a path, a SPIFFE ID or a token.
/// </summary>
[TestClass]
public sealed class MetricTagCardinalityTests
{
    private const string Audience = "https://billing.example.org";

    [TestMethod]
    public async Task DistinctPathsCallersAndTokens_GiveAFixedSmallSetOfTagSets_WithoutRequestValues()
    {
        await using TestIssuer issuer = await TestIssuer.StartAsync();
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices/{id}", (string id) => id).RequireCaller("spiffe://example.org/callers/*");
                app.MapGet("/open/{id}", (string id) => id);
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
            });
        using var capture = new TelemetryCapture(billing.App.Services.GetRequiredService<SecureCommsServerMetrics>().Meter);
        var requestValues = new List<string>();

        for (int i = 0; i < 60; i++)
        {
            WorkloadCertificate caller = TestPki.Issue(SpiffeId.Parse($"spiffe://example.org/callers/c{i}"));
            requestValues.Add(caller.SpiffeId.ToString());
            string path = (i % 3 == 0 ? "/open/" : "/invoices/") + "p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "x";
            requestValues.Add(path);
            string token = (i % 4) switch
            {
                0 => issuer.Mint(Audience, caller),
                1 => issuer.Mint(Audience, TestPki.Issue(TestPki.Orders)), // bound to another certificate
                2 => issuer.MintRaw(issuer.Payload(Audience, ""), $$"""{"alg":"ES256","typ":"at+jwt","kid":"made-up-{{i}}"}"""),
                _ => "not-a-jwt-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            requestValues.Add(token);
            using HttpClient client = TestClients.RawClient(caller.Certificate);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(billing.BaseAddress, path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using HttpResponseMessage response = await client.SendAsync(request);
        }

        List<TelemetryCapture.Measurement> decisions = capture.Measurements(SecureCommsTelemetry.Instruments.AuthorizationDecisions).ToList();
        var tagSets = decisions.Select(m => string.Join(";", m.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"))).Distinct().ToList();
        string[] allTagValues = capture.Measurements(SecureCommsTelemetry.Instruments.AuthorizationDecisions)
            .Concat(capture.Measurements(SecureCommsTelemetry.Instruments.PeerCertificateFailures))
            .SelectMany(m => m.Tags.Values).OfType<string>().Distinct().ToArray();

        Assert.HasCount(60, decisions, "one decision per request");
        Assert.IsLessThanOrEqualTo(8, tagSets.Count, "tag sets: " + string.Join(" | ", tagSets));
        foreach (string value in allTagValues)
        {
            Assert.IsFalse(requestValues.Any(v => value.Contains(v, StringComparison.Ordinal)), $"tag value {value} comes from a request");
            Assert.DoesNotContain("spiffe://", value);
        }
    }
}
