using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// The optional policy information endpoint: real Kestrel, real mutual TLS, a policy in a real JSON file reloaded through
/// the host's configuration. Operators read which policy a replica runs; the endpoint is under default deny like any other.
/// </summary>
[TestClass]
public sealed class PolicyInfoEndpointTests
{
    private static readonly SpiffeId Monitoring = SpiffeId.Parse("spiffe://example.org/monitoring");

    private const string Policy = """
        { "SecureComms": { "Authorization": { "Version": "2026-12-07.1", "Rules": [
          { "Name": "monitoring-reads-policy", "Callers": [ "spiffe://example.org/monitoring" ], "Methods": [ "GET" ], "Paths": [ "/securecomms/policy" ] },
          { "Name": "orders-invoices", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/invoices/*" ] } ] } } }
        """;

    // The same rules with another layout, key order, comments and version label: the same policy.
    private const string SamePolicyRewritten = """
        // rewritten by hand
        { "SecureComms": { "Authorization": {
          "Rules": [
            { "Paths": [ "/securecomms/policy" ], "Methods": [ "GET" ], "Callers": [ "spiffe://example.org/monitoring" ], "Name": "monitoring-reads-policy" },
            { "Callers": [ "spiffe://example.org/orders" ], "Name": "orders-invoices", "Paths": [ "/invoices/*" ] }
          ],
          "Version": "2026-12-07.2" } } }
        """;

    private const string WiderPolicy = """
        { "SecureComms": { "Authorization": { "Version": "2026-12-08.1", "Rules": [
          { "Name": "monitoring-reads-policy", "Callers": [ "spiffe://example.org/monitoring" ], "Methods": [ "GET" ], "Paths": [ "/securecomms/policy" ] },
          { "Name": "orders-invoices", "Callers": [ "spiffe://example.org/orders", "spiffe://example.org/analytics" ], "Paths": [ "/invoices/*" ] } ] } } }
        """;

    [TestMethod]
    public async Task AllowedCaller_ReadsVersionHashAndLoadTime_NotTheRules()
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        await File.WriteAllTextAsync(policy, Policy);
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using SecureServiceHost billing = await StartAsync(policy, clock);

        JsonElement info = await ReadInfoAsync(billing, Monitoring);

        Assert.AreEqual("2026-12-07.1", info.GetProperty("version").GetString());
        Assert.MatchesRegex("^[0-9a-f]{64}$", info.GetProperty("sha256").GetString());
        Assert.AreEqual(clock.GetUtcNow(), DateTimeOffset.Parse(info.GetProperty("loadedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture), "the host's clock at start-up");
        Assert.AreEqual(2, info.GetProperty("rules").GetInt32());
        Assert.IsFalse(info.GetProperty("dryRun").GetBoolean());
        Assert.AreEqual(5, info.EnumerateObject().Count(), "identity of the policy only: no rule, caller or path");
    }

    [TestMethod]
    public async Task CallerNoRuleAllows_Gets403_LikeAtAnyOtherEndpoint()
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        await File.WriteAllTextAsync(policy, Policy);
        await using SecureServiceHost billing = await StartAsync(policy, TimeProvider.System);
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage response = await client.GetAsync(new Uri(SecureCommsPolicyInfoEndpointRouteBuilderExtensions.DefaultPattern, UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain("sha256", await response.Content.ReadAsStringAsync());
    }

    [TestMethod]
    public async Task ReplicasWithTheSamePolicyWrittenDifferently_ReportOneHash_AnEditThatChangesDecisions_AnotherHashAndLoadTime()
    {
        using var dir = new TemporaryFolder();
        string first = Path.Combine(dir.Path, "first.json");
        string second = Path.Combine(dir.Path, "second.json");
        await File.WriteAllTextAsync(first, Policy);
        await File.WriteAllTextAsync(second, SamePolicyRewritten);
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using SecureServiceHost replicaA = await StartAsync(first, clock);
        await using SecureServiceHost replicaB = await StartAsync(second, clock);

        JsonElement a = await ReadInfoAsync(replicaA, Monitoring);
        JsonElement b = await ReadInfoAsync(replicaB, Monitoring);
        Assert.AreEqual(a.GetProperty("sha256").GetString(), b.GetProperty("sha256").GetString(), "layout, key order, comments and version do not change the hash");
        Assert.AreNotEqual(a.GetProperty("version").GetString(), b.GetProperty("version").GetString());

        clock.Advance(TimeSpan.FromMinutes(5));
        string next = first + ".next";
        await File.WriteAllTextAsync(next, WiderPolicy);
        File.Move(next, first, overwrite: true);
        await replicaA.Logs.WaitForAsync(e => e.Id.Id == 1411, "the edit applied (1411)", TimeSpan.FromSeconds(30));

        JsonElement edited = await ReadInfoAsync(replicaA, Monitoring);
        Assert.AreNotEqual(a.GetProperty("sha256").GetString(), edited.GetProperty("sha256").GetString(), "analytics added to a rule: another policy");
        Assert.AreEqual("2026-12-08.1", edited.GetProperty("version").GetString());
        Assert.AreEqual(clock.GetUtcNow(), DateTimeOffset.Parse(edited.GetProperty("loadedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture), "stamped when the edit was applied");
        Assert.AreNotEqual(a.GetProperty("loadedAt").GetString(), edited.GetProperty("loadedAt").GetString());
        Assert.IsTrue(replicaA.Logs.GetSnapshot().Any(e => e.Id.Id == 1411 && e.Message.Contains(edited.GetProperty("sha256").GetString()!, StringComparison.Ordinal)), "event 1411 names the applied policy's hash");
    }

    [TestMethod]
    [DataRow("Methods", "POST", DisplayName = "a method")]
    [DataRow("Paths", "/invoices", DisplayName = "a path pattern")]
    [DataRow("Scopes", "invoices.read", DisplayName = "a scope")]
    [DataRow("Callers", "spiffe://example.org/orders/*", DisplayName = "a caller pattern")]
    public void AnyDecisiveChange_ChangesTheHash(string list, string value)
    {
        static SecureCommsAuthorizationOptions Rules()
        {
            var options = new SecureCommsAuthorizationOptions { Version = "a" };
            var rule = new CallerRuleOptions { Name = "r" };
            rule.Callers.Add("spiffe://example.org/orders");
            rule.Paths.Add("/invoices/*");
            options.Rules.Add(rule);
            return options;
        }

        SecureCommsAuthorizationOptions changed = Rules();
        CallerRuleOptions target = changed.Rules[0];
        (list switch
        {
            "Methods" => target.Methods,
            "Paths" => target.Paths,
            "Scopes" => target.Scopes,
            _ => target.Callers,
        }).Add(value);
        SecureCommsAuthorizationOptions relabelled = Rules();
        relabelled.Version = "b";

        Assert.AreEqual(PolicyHash.Of(Rules()), PolicyHash.Of(relabelled), "the version label is not the policy");
        Assert.AreNotEqual(PolicyHash.Of(Rules()), PolicyHash.Of(changed));
    }

    private static Task<SecureServiceHost> StartAsync(string policyFile, TimeProvider clock) =>
        SecureServiceHost.StartAsync(
            app =>
            {
                app.MapSecureCommsPolicyInfo();
                app.MapGet("/invoices/{id}", (string id) => id);
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            services: s => s.AddSingleton<TimeProvider>(clock),
            configuration: c => c.AddJsonFile(policyFile, optional: false, reloadOnChange: true));

    private static async Task<JsonElement> ReadInfoAsync(SecureServiceHost service, SpiffeId caller)
    {
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(caller)), "spiffe://example.org/billing", service.BaseAddress);
        await using var _ = services;
        HttpResponseMessage response = await client.GetAsync(new Uri(SecureCommsPolicyInfoEndpointRouteBuilderExtensions.DefaultPattern, UriKind.Relative));
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.AreEqual("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
