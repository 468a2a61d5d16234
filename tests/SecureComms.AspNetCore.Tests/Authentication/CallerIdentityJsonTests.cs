using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Authentication;

/// <summary>What a handler most often returns about its caller, over real mutual TLS: the SPIFFE ID as a JSON string.</summary>
[TestClass]
public sealed class CallerIdentityJsonTests
{
    [TestMethod]
    public async Task MinimalApiAndMvcResults_CarryTheCallerAsStrings()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/whoami", (HttpContext context) => Results.Ok(new { caller = context.GetCallerSpiffeId(), domain = context.GetCallerSpiffeId().TrustDomain }))
                    .RequireCaller("spiffe://example.org/orders");
                app.MapControllers();
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:Rules:0:Callers:0"] = "spiffe://example.org/orders",
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/mvc/*",
            },
            services: services => services.AddControllers().AddApplicationPart(typeof(WhoAmIController).Assembly));
        (var services, HttpClient client) = TestClients.SecureClient(
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Orders)), "spiffe://example.org/billing", billing.BaseAddress);
        await using var _ = services;

        HttpResponseMessage minimal = await client.GetAsync(new Uri("/whoami", UriKind.Relative));
        HttpResponseMessage mvc = await client.GetAsync(new Uri("/mvc/whoami", UriKind.Relative));

        Assert.AreEqual(HttpStatusCode.OK, minimal.StatusCode);
        Assert.AreEqual("""{"caller":"spiffe://example.org/orders","domain":"example.org"}""", await minimal.Content.ReadAsStringAsync());
        Assert.AreEqual(HttpStatusCode.OK, mvc.StatusCode);
        Assert.AreEqual("""{"caller":"spiffe://example.org/orders","domain":"example.org"}""", await mvc.Content.ReadAsStringAsync());
    }
}

/// <summary>An MVC controller answering with the caller's identity (allowed for orders by the central policy).</summary>
[ApiController]
[Route("mvc/whoami")]
public sealed class WhoAmIController : ControllerBase
{
    [HttpGet]
    public IActionResult Get() => Ok(new { caller = HttpContext.GetCallerSpiffeId(), domain = HttpContext.GetCallerSpiffeId().TrustDomain });
}
