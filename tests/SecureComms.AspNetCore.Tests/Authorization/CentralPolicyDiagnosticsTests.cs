using System.Security.Claims;
using Microsoft.Extensions.Configuration;

namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// The central policy's diagnostics (what part of each rule a request misses) agree with its decisions: a rule without
/// misses is exactly a rule that allows, one missing only scopes is exactly an insufficient_scope denial.
/// </summary>
[TestClass]
public sealed class CentralPolicyDiagnosticsTests
{
    private static readonly string[] Callers =
    [
        "spiffe://example.org/orders",
        "spiffe://example.org/team/analytics",
        "spiffe://example.org/team/analytics/nightly",
        "spiffe://example.org/teamx",
        "spiffe://other.org/orders",
    ];

    private static readonly string[] Methods = ["GET", "get", "POST", "DELETE"];

    private static readonly string[] Paths = ["/invoices", "/invoices/", "/invoices/42", "/invoicesX", "/INVOICES/7", "//invoices//42", "/tenants/acme/invoices", "/tenants/acme/x/invoices", "/charges", "/a/health"];

    // Each rule alone, each with another mix of dimensions; all Allow, so that a match is visible as AllowedByRule.
    private static readonly string[] RuleJson =
    [
        """{ "Name": "exact", "Callers": [ "spiffe://example.org/orders" ], "Methods": [ "GET" ], "Paths": [ "/invoices" ] }""",
        """{ "Name": "prefix", "Callers": [ "spiffe://example.org/team/*" ], "Paths": [ "/invoices/*" ], "Scopes": [ "invoices.read" ] }""",
        """{ "Name": "domain", "Callers": [ "spiffe://example.org/*" ], "Methods": [ "POST", "DELETE" ], "Paths": [ "/charges", "/tenants/*/invoices" ], "Claims": { "tenant": "acme" } }""",
        """{ "Name": "anyone", "Callers": [ "*" ], "Paths": [ "*/health" ], "RequireUser": true, "UserClaims": { "role": "clerk" }, "Scopes": [ "health.read", "health.write" ] }""",
    ];

    private static readonly ClaimsPrincipal[] Users =
    [
        Principal(scope: null, claims: [], user: null),
        Principal(scope: "invoices.read", claims: [("tenant", "acme")], user: null),
        Principal(scope: "health.read", claims: [("tenant", "other")], user: ("alice", "clerk")),
        Principal(scope: "health.read health.write invoices.write", claims: [], user: ("bob", "buyer")),
        Principal(scope: "health.read health.write", claims: [("tenant", "acme")], user: ("carol", "clerk")),
    ];

    [TestMethod]
    public void RuleWithoutMisses_IsExactlyARuleThatAllows_AndOnlyScopeMisses_AreExactlyInsufficientScope()
    {
        int allowed = 0;
        int insufficient = 0;
        foreach (string json in RuleJson)
        {
            CentralPolicy policy = Compile(json);
            foreach (string caller in Callers)
            {
                foreach (string method in Methods)
                {
                    foreach (string path in Paths)
                    {
                        foreach (ClaimsPrincipal user in Users)
                        {
                            var request = new PolicyRequest(SpiffeId.Parse(caller), method, path, user);
                            PolicyDecision decision = policy.Evaluate(request);
                            RuleDiagnosis diagnosis = policy.Diagnose(request).Single();
                            string at = $"{json} {caller} {method} {path} [{string.Join("; ", diagnosis.Misses)}]";
                            string expected = diagnosis.Misses.Count == 0 ? PolicyDecision.AllowedByRule
                                : diagnosis.Misses.All(m => m.Dimension == RuleDimension.Scopes) ? PolicyDecision.InsufficientScope
                                : PolicyDecision.NoMatchingRule;
                            Assert.AreEqual(expected, decision.Reason, at);
                            Assert.AreEqual(6 - diagnosis.Misses.Select(m => m.Dimension).Distinct().Count(), diagnosis.MatchedDimensions, at);
                            allowed += decision.Allowed ? 1 : 0;
                            insufficient += decision.Reason == PolicyDecision.InsufficientScope ? 1 : 0;
                        }
                    }
                }
            }
        }

        // The table reaches every outcome, so that the agreement is not vacuous.
        Assert.IsGreaterThan(10, allowed);
        Assert.IsGreaterThan(10, insufficient);
    }

    [TestMethod]
    public void Misses_SayWhatDidNotMatch()
    {
        CentralPolicy policy = Compile(RuleJson[0], RuleJson[1], RuleJson[2], RuleJson[3]);
        var request = new PolicyRequest(SpiffeId.Parse("spiffe://example.org/analytics"), "POST", "/invoice/", Principal("invoices.write", [("tenant", "other")], user: null));

        List<RuleDiagnosis> diagnoses = policy.Diagnose(request);

        CollectionAssert.AreEqual(new[] { "exact", "prefix", "domain", "anyone" }, diagnoses.Select(d => d.Rule.Name).ToArray());
        CollectionAssert.AreEqual(
            new[] { "caller spiffe://example.org/analytics not matched by spiffe://example.org/orders", "method POST not in [GET]", "path /invoice does not match /invoices" },
            diagnoses[0].Misses.Select(m => m.Detail).ToArray());
        CollectionAssert.AreEqual(
            new[] { "caller spiffe://example.org/analytics not matched by spiffe://example.org/team/*", "path /invoice does not match /invoices/*", "missing scope invoices.read" },
            diagnoses[1].Misses.Select(m => m.Detail).ToArray());
        CollectionAssert.AreEqual(
            new[] { "path /invoice matches none of /charges, /tenants/*/invoices", "missing claim tenant=acme (has tenant=other)" },
            diagnoses[2].Misses.Select(m => m.Detail).ToArray());
        CollectionAssert.AreEqual(
            new[] { "path /invoice does not match */health", "no end user (the rule requires a verified user context)", "missing scope health.read", "missing scope health.write" },
            diagnoses[3].Misses.Select(m => m.Detail).ToArray());
        Assert.AreEqual(4, diagnoses[2].MatchedDimensions);
    }

    [TestMethod]
    [DataRow("/charges/../admin")]
    [DataRow("/charges%2Fadmin")]
    public void NonCanonicalPath_IsDiagnosedAgainstNoRule(string path)
    {
        CentralPolicy policy = Compile(RuleJson);
        var request = new PolicyRequest(SpiffeId.Parse("spiffe://example.org/orders"), "GET", path, Principal(null, [], null));

        Assert.AreEqual(PolicyDecision.NonCanonicalPath, policy.Evaluate(request).Reason);
        Assert.IsEmpty(policy.Diagnose(request));
    }

    private static CentralPolicy Compile(params string[] rules)
    {
        string json = $$"""{ "SecureComms": { "Authorization": { "Rules": [ {{string.Join(", ", rules)}} ] } } }""";
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();
        var options = new SecureCommsAuthorizationOptions();
        configuration.GetSection(CentralPolicyProvider.Section).Bind(options);
        var errors = new List<string>();
        CentralPolicy policy = CentralPolicy.Compile(options, errors);
        Assert.IsEmpty(errors, string.Join("; ", errors));
        return policy;
    }

    private static ClaimsPrincipal Principal(string? scope, (string Type, string Value)[] claims, (string Subject, string Role)? user)
    {
        var token = new ClaimsIdentity("SecureComms.AccessToken");
        if (scope is not null)
        {
            token.AddClaim(new Claim("scope", scope));
        }

        foreach ((string type, string value) in claims)
        {
            token.AddClaim(new Claim(type, value));
        }

        var principal = new ClaimsPrincipal(token);
        if (user is { } u)
        {
            principal.AddIdentity(new EndUserIdentity(u.Subject, [new Claim("sub", u.Subject), new Claim("role", u.Role)], [], "token", DateTimeOffset.MaxValue));
        }

        return principal;
    }
}
