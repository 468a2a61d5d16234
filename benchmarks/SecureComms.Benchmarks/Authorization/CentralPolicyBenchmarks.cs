using System.Security.Claims;
using BenchmarkDotNet.Attributes;

namespace SecureComms.Benchmarks.Authorization;

/// <summary>
/// Central policy evaluation with 10, 100 and 1000 rules (one per service, plus a trust-domain-wide deny and audit
/// rule), the caller matching a rule in the middle. Rules are indexed by caller, so cost should not grow with the count.
/// </summary>
[MemoryDiagnoser]
public class CentralPolicyBenchmarks
{
    private CentralPolicy _policy = null!;
    private PolicyRequest _request;

    [Params(10, 100, 1000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new SecureCommsAuthorizationOptions();
        for (int i = 0; i < Rules; i++)
        {
            var rule = new CallerRuleOptions { Name = $"service-{i}" };
            rule.Callers.Add($"spiffe://example.org/ns/prod/service-{i}");
            rule.Paths.Add($"/api/{i}/*");
            rule.Methods.Add("GET");
            options.Rules.Add(rule);
        }

        var deny = new CallerRuleOptions { Name = "no-admin", Action = PolicyAction.Deny };
        deny.Callers.Add("spiffe://example.org/*");
        deny.Paths.Add("/admin/*");
        options.Rules.Add(deny);
        var errors = new List<string>();
        _policy = CentralPolicy.Compile(options, errors);
        int middle = Rules / 2;
        _request = new PolicyRequest(SpiffeId.Parse($"spiffe://example.org/ns/prod/service-{middle}"), "GET", $"/api/{middle}/items", new ClaimsPrincipal(new ClaimsIdentity("bench")));
        if (errors.Count > 0 || !_policy.Evaluate(_request).Allowed)
        {
            throw new InvalidOperationException("The benchmark request is not allowed; the setup is wrong.");
        }
    }

    [Benchmark]
    public bool Evaluate() => _policy.Evaluate(_request).Allowed;
}
