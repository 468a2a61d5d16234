using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.UserContext;

/// <summary>
/// The seam through which the core package's outbound clients see the request being served
/// (<see cref="IServedRequestAccessor"/>), as ASP.NET Core implements it, on a real Kestrel service: the user and the
/// bearer token of the request in progress; nothing once the request has ended, even on a flow that captured it; and
/// nothing at all when no client needs it.
/// </summary>
[TestClass]
public sealed class ServedRequestTests
{
    [TestMethod]
    public async Task ClientsSeeTheRequestBeingServed_AndNoneOnceItEnded_EvenOnAFlowThatCapturedIt()
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<(ClaimsPrincipal? User, string? Token)>? afterTheEnd = null;
        await using SecureServiceHost host = await StartAsync(
            (HttpContext ctx, [FromServices] IServedRequestAccessor served) =>
            {
                ctx.Response.OnCompleted(() =>
                {
                    ended.TrySetResult();
                    return Task.CompletedTask;
                });

                // Work that outlives the request, on the request's own async flow.
                afterTheEnd = Task.Run(async () =>
                {
                    await ended.Task;
                    return (served.User, served.BearerToken);
                });
                return $"same user: {ReferenceEquals(served.User, ctx.User)}, token: {served.BearerToken}";
            },
            clientNeedsTheRequest: true);

        string during = await CallAsync(host);
        (ClaimsPrincipal? user, string? token) = await afterTheEnd!;

        Assert.AreEqual("same user: True, token: the-callers-token", during);
        Assert.IsNull(user, "no user once the request has ended");
        Assert.IsNull(token, "no token once the request has ended");
    }

    [TestMethod]
    public async Task WithoutAClientThatNeedsIt_NoRequestIsMadeKnown()
    {
        await using SecureServiceHost host = await StartAsync(
            ([FromServices] IServedRequestAccessor served) => $"user: {served.User is not null}, token: {served.BearerToken ?? "(none)"}",
            clientNeedsTheRequest: false);

        Assert.AreEqual("user: False, token: (none)", await CallAsync(host));
    }

    private static async Task<SecureServiceHost> StartAsync(Delegate handler, bool clientNeedsTheRequest)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SecureComms:Authorization:Rules:0:Callers:0"] = TestPki.Orders.ToString(),
            ["SecureComms:Authorization:Rules:0:Paths:0"] = "/work",
            ["SecureComms:Clients:billing:BaseAddress"] = "https://billing.example.org",
            ["SecureComms:Clients:billing:ExpectedServer"] = TestPki.Billing.ToString(),
        };
        if (clientNeedsTheRequest)
        {
            settings["SecureComms:Clients:billing:UserContext:Mode"] = "Mint";
        }

        return await SecureServiceHost.StartAsync(
            app => app.MapGet("/work", handler),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            settings);
    }

    private static async Task<string> CallAsync(SecureServiceHost host)
    {
        using HttpClient orders = TestClients.RawClient(TestPki.Issue(TestPki.Orders).Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, "/work"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "the-callers-token");
        using HttpResponseMessage response = await orders.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
        return body;
    }
}
