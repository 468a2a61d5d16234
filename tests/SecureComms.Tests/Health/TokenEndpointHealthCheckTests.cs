using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureComms.Tests.Fakes;
using SecureComms.Tests.Tokens;

namespace SecureComms.Tests.Health;

/// <summary>The token endpoint check against a real development token server, driven by a manual clock.</summary>
[TestClass]
public sealed class TokenEndpointHealthCheckTests
{
    [TestMethod]
    public async Task TokenEndpoint_IsHealthyAfterASuccess_DegradedWhileACachedTokenOutlivesAFailure_UnhealthyOnceItExpires()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        TokenTestBed bed = await TokenTestBed.StartAsync(time);
        await using ServiceProvider services = HealthTestHost.Build(time, bed.Certificates, new StaticTrustBundleSource(bed.Ca.CreateTrustBundle()), o =>
            o.Clients["billing"] = new SecureClientOptions
            {
                BaseAddress = new Uri("https://billing.example.org"),
                ExpectedServer = "spiffe://example.org/billing",
                Token = bed.Options(t => t.MaxRetries = 0),
            });
        CertificateBoundTokenProvider provider = services.GetRequiredService<TokenProviderRegistry>().GetProvider("billing")!;

        HealthReportEntry unused = await services.CheckAsync(SecureCommsHealthChecks.TokenEndpoints);
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);
        HealthReportEntry afterSuccess = await services.CheckAsync(SecureCommsHealthChecks.TokenEndpoints);

        await bed.DisposeAsync(); // the authorization server goes away
        time.Advance(token.ExpiresAt - token.IssuedAt - TimeSpan.FromSeconds(10)); // inside the refresh window
        _ = await provider.GetTokenAsync(CancellationToken.None); // served from cache; renewal starts in the background
        await Eventually.WaitUntilAsync(() => provider.Status.LastFailure is not null, "the background renewal fails");
        HealthReportEntry failedWithCachedToken = await services.CheckAsync(SecureCommsHealthChecks.TokenEndpoints);
        time.Advance(TimeSpan.FromSeconds(11)); // the cached token has expired
        HealthReportEntry failedWithoutToken = await services.CheckAsync(SecureCommsHealthChecks.TokenEndpoints);

        Assert.AreEqual(HealthStatus.Healthy, unused.Status);
        Assert.AreEqual("no token requested yet", unused.Data["billing"]);
        Assert.AreEqual(HealthStatus.Healthy, afterSuccess.Status, afterSuccess.Description);
        Assert.StartsWith("token acquired at", (string)afterSuccess.Data["billing"]);
        Assert.AreEqual(HealthStatus.Degraded, failedWithCachedToken.Status, failedWithCachedToken.Description);
        Assert.Contains("billing: last token request failed (server_unavailable)", failedWithCachedToken.Description!);
        Assert.AreEqual(HealthStatus.Unhealthy, failedWithoutToken.Status, failedWithoutToken.Description);
        Assert.Contains("billing: no valid token", failedWithoutToken.Description!);
        Assert.DoesNotContain(token.Value, failedWithoutToken.Description!, "never the token");
    }

    [TestMethod]
    public async Task NoClientWithTokenSettings_IsHealthy()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var ca = SecureComms.Testing.DevelopmentCertificateAuthority.Create(HealthTestHost.ExampleOrg, time);
        using var certificates = new InMemoryCertificateSource(ca.IssueSvid(HealthTestHost.Orders));
        await using ServiceProvider services = HealthTestHost.Build(time, certificates, new StaticTrustBundleSource(ca.CreateTrustBundle()));

        HealthReportEntry entry = await services.CheckAsync(SecureCommsHealthChecks.TokenEndpoints);

        Assert.AreEqual(HealthStatus.Healthy, entry.Status);
        Assert.AreEqual("No client acquires access tokens.", entry.Description);
    }
}
