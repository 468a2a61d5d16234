using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SecureComms;
using SecureComms.Demo;
using SecureComms.Testing;

// SecureComms demo: real Kestrel services on loopback, real mutual TLS, identities from an in-process development CA.
using DevelopmentCertificateAuthority ca = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org"));
Console.WriteLine($"SecureComms demo: trust domain {ca.TrustDomain}, in-process development CA (development only)");

await using DemoService billing = await DemoService.StartAsync(
    "billing",
    ca,
    new Dictionary<string, string?>(),
    app => app.MapGet("/invoices", (HttpContext context) => $"invoices for {context.GetCallerSpiffeId()}")
        .RequireCaller("spiffe://example.org/orders"));

IDictionary<string, string?> CallsBilling() => new Dictionary<string, string?>
{
    ["SecureComms:Clients:billing:BaseAddress"] = billing.Address.ToString(),
    ["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing",
};

await using DemoService orders = await DemoService.StartAsync("orders", ca, CallsBilling(), _ => { });
await using DemoService analytics = await DemoService.StartAsync("analytics", ca, CallsBilling(), _ => { });

foreach (DemoService service in new[] { billing, orders, analytics })
{
    Console.WriteLine($"  {service.Name,-10} {service.SpiffeId,-34} listening on {service.Address}");
}

Console.WriteLine();
var outcomes = new List<Outcome>
{
    await CallAsync("orders → billing (allowed by RequireCaller)", orders, HttpStatusCode.OK),
    await CallAsync("analytics → billing (not in the policy)", analytics, HttpStatusCode.Forbidden),
};

Console.WriteLine($"{"scenario",-46} {"expected",-10} {"actual",-10} {"",-4} what billing answered");
foreach (Outcome outcome in outcomes)
{
    Console.WriteLine($"{outcome.Scenario,-46} {(int)outcome.Expected,-10} {outcome.Actual,-10} {(outcome.AsExpected ? "ok" : "FAIL"),-4} {outcome.Detail}");
}

bool allAsExpected = outcomes.TrueForAll(o => o.AsExpected);
Console.WriteLine();
Console.WriteLine(allAsExpected ? "Every outcome was as expected." : "Some outcomes were NOT as expected.");
return allAsExpected ? 0 : 1;

static async Task<Outcome> CallAsync(string scenario, DemoService caller, HttpStatusCode expected)
{
    try
    {
        using HttpResponseMessage response = await caller.CreateClient("billing").GetAsync(new Uri("/invoices", UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        string detail = response.StatusCode == HttpStatusCode.OK ? body : $"{(int)response.StatusCode} {response.StatusCode}";
        return new Outcome(scenario, expected, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), response.StatusCode == expected, detail);
    }
    catch (HttpRequestException ex)
    {
        return new Outcome(scenario, expected, "refused", false, ex.InnerException?.Message ?? ex.Message);
    }
}

internal sealed record Outcome(string Scenario, HttpStatusCode Expected, string Actual, bool AsExpected, string Detail);
