using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Grpc;

/// <summary>
/// A Grpc.AspNetCore service behind <c>AddSecureComms()</c>, called by real Grpc.Net.Client channels over mutual TLS:
/// every refusal reaches the client as a gRPC status (Unauthenticated for the caller's token, PermissionDenied for
/// policy, ResourceExhausted for its rate limit) in a Trailers-Only response, with the reason as the status detail and
/// the RFC 6750 challenge in the trailers; the service method never runs. <c>RequireCaller</c>/<c>RequireScope</c> on
/// <c>MapGrpcService</c> and central rules on <c>/package.Service/Method</c> decide.
/// </summary>
[TestClass]
public sealed class GrpcRefusalTests
{
    private const string Audience = "https://billing.example.org";
    private static readonly SpiffeId Limited = SpiffeId.Parse("spiffe://example.org/limited");
    private static TestIssuer s_issuer = null!;
    private static SecureServiceHost s_billing = null!;
    private static WorkloadCertificate s_orders = null!;
    private static WorkloadCertificate s_analytics = null!;
    private static WorkloadCertificate s_limited = null!;
    private static GrpcCalls s_calls = null!;

    public enum Target
    {
        LedgerGet,
        LedgerList,
        CheckoutBuy,
        CheckoutRefund,
        CheckoutRefundInAnotherCase,
    }

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        s_orders = TestPki.Issue(TestPki.Orders);
        s_analytics = TestPki.Issue(TestPki.Analytics);
        s_limited = TestPki.Issue(Limited);
        s_calls = new GrpcCalls();
        s_issuer = await TestIssuer.StartAsync();
        s_billing = await SecureServiceHost.StartAsync(
            app =>
            {
                // The ledger opens to named callers with a scope; the checkout has no metadata: central rules decide.
                app.MapGrpcService<LedgerService>().RequireCaller(TestPki.Orders.ToString(), Limited.ToString()).RequireScope("invoices.read");
                app.MapGrpcService<CheckoutService>();
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:TokenValidation:Authority"] = s_issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
                ["SecureComms:Authorization:Rules:0:Name"] = "orders-checkout",
                ["SecureComms:Authorization:Rules:0:Callers:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:0:Paths:0"] = "/securecomms.test.Checkout/*",
                ["SecureComms:Authorization:Rules:1:Name"] = "no-refunds-for-orders",
                ["SecureComms:Authorization:Rules:1:Action"] = "Deny",
                ["SecureComms:Authorization:Rules:1:Callers:0"] = TestPki.Orders.ToString(),
                ["SecureComms:Authorization:Rules:1:Paths:0"] = "/securecomms.test.Checkout/Refund",
                ["SecureComms:Authorization:Rules:2:Name"] = "analytics-buys",
                ["SecureComms:Authorization:Rules:2:Callers:0"] = TestPki.Analytics.ToString(),
                ["SecureComms:Authorization:Rules:2:Paths:0"] = "/securecomms.test.Checkout/Buy",
                ["SecureComms:Authorization:RateLimits:0:Callers:0"] = Limited.ToString(),
                ["SecureComms:Authorization:RateLimits:0:PermitLimit"] = "1",
                ["SecureComms:Authorization:RateLimits:0:Window"] = "00:10:00",
            },
            services =>
            {
                services.AddGrpc();
                services.AddSingleton(s_calls);
            });
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        await s_billing.DisposeAsync();
        await s_issuer.DisposeAsync();
    }

    public static IEnumerable<object?[]> Allowed()
    {
        // name, caller, target, expected caller seen by the service
        yield return ["unary call of the allowed caller with a bound token and the scope", "orders", Target.LedgerGet];
        yield return ["server-streaming call of the allowed caller", "orders", Target.LedgerList];
        yield return ["a central rule on /package.Service/*", "orders", Target.CheckoutBuy];
        yield return ["a central rule on /package.Service/Method", "analytics", Target.CheckoutBuy];
    }

    [TestMethod]
    [DynamicData(nameof(Allowed))]
    public async Task AllowedCall_ReachesTheService_WhichSeesTheCallersIdentity(string name, string caller, Target target)
    {
        WorkloadCertificate svid = Svid(caller);

        IReadOnlyList<EntryReply> replies = await CallAsync(svid, s_issuer.Mint(Audience, svid), target);

        Assert.IsNotEmpty(replies, name);
        foreach (EntryReply reply in replies)
        {
            Assert.AreEqual(svid.SpiffeId.ToString(), reply.Caller, name);
            Assert.Contains("sub=orders", reply.Detail, name);
        }

        Assert.HasCount(target == Target.LedgerList ? 3 : 1, replies, name);
    }

    public static IEnumerable<object?[]> Refusals()
    {
        // name, caller, token, target, status, challenge (a part of it; null: none), status detail, logged reason
        yield return ["no token", "orders", (Func<string?>)(() => null), Target.LedgerGet, StatusCode.Unauthenticated, "Bearer realm=\"SecureComms\"", "An access token is required.", "MissingToken"];
        yield return ["garbage token", "orders", (Func<string?>)(() => "not-a-jwt"), Target.LedgerGet, StatusCode.Unauthenticated, "error=\"invalid_token\"", "The access token is malformed.", "MalformedToken"];
        yield return ["expired token", "orders", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders, expires: DateTime.UtcNow.AddMinutes(-5), notBefore: DateTime.UtcNow.AddMinutes(-10))), Target.LedgerGet, StatusCode.Unauthenticated, "error_description=\"The access token expired.\"", "The access token expired.", "TokenExpired"];
        yield return ["expired token on a server-streaming call", "orders", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders, expires: DateTime.UtcNow.AddMinutes(-5), notBefore: DateTime.UtcNow.AddMinutes(-10))), Target.LedgerList, StatusCode.Unauthenticated, "error=\"invalid_token\"", "The access token expired.", "TokenExpired"];
        yield return ["token for another audience", "orders", (Func<string?>)(() => s_issuer.Mint("https://orders.example.org", s_orders)), Target.LedgerGet, StatusCode.Unauthenticated, "error=\"invalid_token\"", "The access token was issued for another audience.", "WrongAudience"];
        yield return ["orders' token replayed from analytics' certificate (stolen token)", "analytics", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders)), Target.LedgerGet, StatusCode.Unauthenticated, "error=\"invalid_token\"", "The access token is bound to another client certificate.", "TokenBoundToAnotherCertificate"];
        yield return ["a caller RequireCaller does not name", "analytics", (Func<string?>)(() => s_issuer.Mint(Audience, s_analytics)), Target.LedgerGet, StatusCode.PermissionDenied, null, "The caller is not allowed to call this endpoint.", "NoMatchingRule"];
        yield return ["a token without the scope RequireScope names", "orders", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders, scope: "invoices.write")), Target.LedgerGet, StatusCode.PermissionDenied, "error=\"insufficient_scope\", scope=\"invoices.read\"", "The access token lacks a scope this endpoint requires.", "InsufficientScope"];
        yield return ["no central rule for the method (default deny)", "analytics", (Func<string?>)(() => s_issuer.Mint(Audience, s_analytics)), Target.CheckoutRefund, StatusCode.PermissionDenied, null, "The caller is not allowed to call this endpoint.", "NoMatchingRule"];
        yield return ["a Deny rule on the method", "orders", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders)), Target.CheckoutRefund, StatusCode.PermissionDenied, null, "The caller is not allowed to call this endpoint.", "DeniedByRule"];
        yield return ["a Deny rule on the method, the path in another case", "orders", (Func<string?>)(() => s_issuer.Mint(Audience, s_orders)), Target.CheckoutRefundInAnotherCase, StatusCode.PermissionDenied, null, "The caller is not allowed to call this endpoint.", "DeniedByRule"];
    }

    [TestMethod]
    [DynamicData(nameof(Refusals))]
    public async Task RefusedCall_GetsItsGrpcStatus_WithTheReasonAndTheChallenge_AndTheServiceNeverRuns(
        string name, string caller, Func<string?> token, Target target, StatusCode status, string? challenge, string detail, string reason)
    {
        int runs = s_calls.Runs(MethodName(target));
        string audit = $"denied {Svid(caller).SpiffeId} (user (none)) POST {RoutePattern(target)}: {reason}, rule";
        int audited = Audited(audit);

        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => CallAsync(Svid(caller), token(), target), name);

        Assert.AreEqual(status, refused.StatusCode, $"{name}: {refused.Status.Detail}");
        Assert.AreEqual(detail, refused.Status.Detail, name);
        string? wwwAuthenticate = refused.Trailers.GetValue("www-authenticate");
        if (challenge is null)
        {
            Assert.IsNull(wwwAuthenticate, name);
        }
        else
        {
            Assert.IsNotNull(wwwAuthenticate, $"{name}: the RFC 6750 challenge is in the trailers");
            Assert.StartsWith("Bearer realm=\"SecureComms\"", wwwAuthenticate, name);
            Assert.Contains(challenge, wwwAuthenticate, name);
        }

        Assert.AreEqual(runs, s_calls.Runs(MethodName(target)), $"{name}: the service method never ran");
        Assert.AreEqual(audited + 1, Audited(audit), $"{name}: the denial is audited with its reason: {audit}");
    }

    [TestMethod]
    public async Task UserContextTheServiceDoesNotAccept_IsUnauthenticated_WithTheUserContextCodeInTheChallenge()
    {
        // The code tells the caller's client that renewing its access token would not help.
        using GrpcChannel channel = GrpcChannel.ForAddress(s_billing.BaseAddress, new GrpcChannelOptions { HttpClient = TestClients.RawClient(s_orders), DisposeHttpClient = true });
        var headers = new Metadata
        {
            { "authorization", "Bearer " + s_issuer.Mint(Audience, s_orders) },
            { SecureCommsUserContext.HeaderName.ToLowerInvariant(), "not-a-user-context" },
        };

        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => new Ledger.LedgerClient(channel).GetAsync(new EntryRequest(), new CallOptions(headers, DateTime.UtcNow.AddSeconds(20))).ResponseAsync);

        Assert.AreEqual(StatusCode.Unauthenticated, refused.StatusCode, refused.Status.Detail);
        Assert.StartsWith("The user context was refused: ", refused.Status.Detail);
        string challenge = refused.Trailers.GetValue("www-authenticate") ?? string.Empty;
        Assert.Contains("error=\"invalid_token\"", challenge);
        Assert.Contains(SecureCommsUserContext.RefusedChallengeParameter, challenge);
    }

    [TestMethod]
    public async Task CallerOverItsRateLimit_GetsResourceExhausted_WithRetryAfter()
    {
        IReadOnlyList<EntryReply> first = await CallAsync(s_limited, s_issuer.Mint(Audience, s_limited), Target.LedgerGet);
        Assert.AreEqual(Limited.ToString(), first[0].Caller);
        int runs = s_calls.Runs("Get");

        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => CallAsync(s_limited, s_issuer.Mint(Audience, s_limited), Target.LedgerGet));

        Assert.AreEqual(StatusCode.ResourceExhausted, refused.StatusCode, refused.Status.Detail);
        Assert.AreEqual("The caller's rate limit is exceeded.", refused.Status.Detail);
        Assert.IsTrue(int.TryParse(refused.Trailers.GetValue("retry-after"), out int seconds) && seconds is > 0 and <= 600, $"Retry-After: {refused.Trailers.GetValue("retry-after")}");
        Assert.AreEqual(runs, s_calls.Runs("Get"), "the service method never ran");
    }

    public static IEnumerable<object?[]> RefusalShapes()
    {
        // request content type, caller, token, HTTP status, grpc-status (null: a problem document)
        yield return ["application/grpc", "orders", false, HttpStatusCode.OK, "16"];
        yield return ["application/grpc+proto", "orders", false, HttpStatusCode.OK, "16"];
        yield return ["application/grpc", "analytics", true, HttpStatusCode.OK, "7"];
        yield return ["application/grpc-web", "orders", false, HttpStatusCode.Unauthorized, null];
        yield return ["application/json", "analytics", true, HttpStatusCode.Forbidden, null];
    }

    [TestMethod]
    [DynamicData(nameof(RefusalShapes))]
    public async Task RefusalOfAGrpcRequest_IsTrailersOnly_NeverAProblemDocument(string contentType, string caller, bool withToken, HttpStatusCode httpStatus, string? grpcStatus)
    {
        WorkloadCertificate svid = Svid(caller);
        using HttpClient raw = TestClients.RawClient(svid);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(s_billing.BaseAddress, "/securecomms.test.Ledger/Get"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]), // one empty, uncompressed message
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.ParseAdd("trailers");
        if (withToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s_issuer.Mint(Audience, svid));
        }

        using HttpResponseMessage response = await raw.SendAsync(request);
        byte[] body = await response.Content.ReadAsByteArrayAsync();

        Assert.AreEqual(httpStatus, response.StatusCode, contentType);
        if (grpcStatus is null)
        {
            Assert.AreEqual("application/problem+json", response.Content.Headers.ContentType?.MediaType, contentType);
            Assert.IsFalse(response.Headers.Contains("grpc-status"), contentType);
            return;
        }

        Assert.AreEqual("application/grpc", response.Content.Headers.ContentType?.MediaType, contentType);
        Assert.AreEqual(grpcStatus, response.Headers.GetValues("grpc-status").Single(), contentType);
        Assert.IsTrue(response.Headers.Contains("grpc-message"), contentType);
        Assert.IsEmpty(body, $"{contentType}: no body, the status is in the headers (Trailers-Only)");
        Assert.IsEmpty(response.TrailingHeaders, contentType);
    }

    [TestMethod]
    public void StatusMessage_IsPercentEncoded_AsTheGrpcProtocolSays()
    {
        // PROTOCOL-HTTP2.md, Status-Message: bytes outside %x20-%x7E, and '%' itself, as %XX of their UTF-8 encoding.
        Assert.AreEqual("The access token expired.", GrpcRefusal.PercentEncode("The access token expired."));
        Assert.AreEqual("100%25 caf%C3%A9%0A", GrpcRefusal.PercentEncode("100% café\n"));
    }

    private static WorkloadCertificate Svid(string caller) => caller switch
    {
        "orders" => s_orders,
        "analytics" => s_analytics,
        _ => throw new ArgumentOutOfRangeException(nameof(caller)),
    };

    private static int Audited(string text) => s_billing.Logs.GetSnapshot().Count(r => r.Id.Id == 1400 && r.Message.Contains(text, StringComparison.Ordinal));

    private static string RoutePattern(Target target) => target switch
    {
        Target.LedgerGet => "/securecomms.test.Ledger/Get",
        Target.LedgerList => "/securecomms.test.Ledger/List",
        Target.CheckoutBuy => "/securecomms.test.Checkout/Buy",
        _ => "/securecomms.test.Checkout/Refund", // also for the path in another case: the endpoint's route
    };

    private static string MethodName(Target target) => target switch
    {
        Target.LedgerGet => "Get",
        Target.LedgerList => "List",
        Target.CheckoutBuy => "Buy",
        _ => "Refund",
    };

    /// <summary>One call on a plain Grpc.Net.Client channel presenting <paramref name="svid"/>, with <paramref name="token"/> as its bearer token.</summary>
    private static async Task<IReadOnlyList<EntryReply>> CallAsync(WorkloadCertificate svid, string? token, Target target)
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(s_billing.BaseAddress, new GrpcChannelOptions { HttpClient = TestClients.RawClient(svid), DisposeHttpClient = true });
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", "Bearer " + token);
        }

        var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(20));
        var request = new EntryRequest { Id = "inv-1", Count = 3 };
        switch (target)
        {
            case Target.LedgerGet:
                return [await new Ledger.LedgerClient(channel).GetAsync(request, options)];
            case Target.LedgerList:
                using (AsyncServerStreamingCall<EntryReply> list = new Ledger.LedgerClient(channel).List(request, options))
                {
                    var replies = new List<EntryReply>();
                    await foreach (EntryReply reply in list.ResponseStream.ReadAllAsync())
                    {
                        replies.Add(reply);
                    }

                    return replies;
                }

            case Target.CheckoutBuy:
                return [await new Checkout.CheckoutClient(channel).BuyAsync(request, options)];
            case Target.CheckoutRefund:
                return [await new Checkout.CheckoutClient(channel).RefundAsync(request, options)];
            default:
                // The same method, its path spelled in another case: ASP.NET Core routing matches it, so must the rules.
                var otherCase = new Method<EntryRequest, EntryReply>(MethodType.Unary, "securecomms.test.CHECKOUT", "refund", Marshallers.Create(m => m.ToByteArray(), EntryRequest.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), EntryReply.Parser.ParseFrom));
                return [await channel.CreateCallInvoker().AsyncUnaryCall(otherCase, null, options, request)];
        }
    }
}
