using System.Collections;
using System.Net;
using System.Reflection;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.RateLimiting;

/// <summary>
/// The per-caller rate limiter keeps one partition per caller SPIFFE ID (and limit), so distinct callers each add
/// one. The partitioned limiter of System.Threading.RateLimiting removes a partition whose limiter has been idle
/// (its window refilled) for 10 seconds, on its own 100 ms heartbeat: idle callers cost nothing after that. This
/// test proves it on the limiter SecureComms builds, since the bound depends on the framework, not on our code.
/// </summary>
[TestClass]
public sealed class CallerPartitionEvictionTests
{
    private const int Callers = 6;

    [TestMethod]
    public async Task PartitionsOfCallersThatStopCalling_AreRemoved_OnceIdle()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "ok").RequireCaller("spiffe://example.org/*"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Authorization:RateLimits:0:Callers:0"] = "spiffe://example.org/callers/*",
                ["SecureComms:Authorization:RateLimits:0:PermitLimit"] = "100",
                ["SecureComms:Authorization:RateLimits:0:Window"] = "00:00:01",
            });
        PartitionedRateLimiter<Microsoft.AspNetCore.Http.HttpContext> limiter = billing.App.Services.GetRequiredService<IOptions<RateLimiterOptions>>().Value.GlobalLimiter!;
        for (int i = 0; i < Callers; i++)
        {
            using HttpClient caller = TestClients.RawClient(TestPki.Issue(SpiffeId.Parse($"spiffe://example.org/callers/{i}")).Certificate);
            Assert.AreEqual(HttpStatusCode.OK, (await caller.GetAsync(new Uri(billing.BaseAddress, "/invoices"))).StatusCode);
        }

        int afterCalls = Partitions(limiter);

        // Idle means a refilled window (1 s) plus the framework's 10 s idle limit, checked every 100 ms: polled, up to a minute.
        int partitions = afterCalls;
        for (int attempt = 0; attempt < 600 && partitions > 0; attempt++)
        {
            await Task.Delay(100);
            partitions = Partitions(limiter);
        }

        Assert.AreEqual(Callers, afterCalls, "one partition per caller while they call");
        Assert.AreEqual(0, partitions, "every idle caller's partition was removed");
    }

    /// <summary>The partitions the framework's limiter holds (its private dictionary: there is no public count).</summary>
    private static int Partitions(PartitionedRateLimiter<Microsoft.AspNetCore.Http.HttpContext> limiter)
    {
        FieldInfo field = limiter.GetType().GetField("_limiters", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new AssertFailedException($"{limiter.GetType()} has no _limiters field any more: find where System.Threading.RateLimiting keeps its partitions now.");
        var limiters = (ICollection)field.GetValue(limiter)!;
        lock (limiters)
        {
            return limiters.Count;
        }
    }
}
