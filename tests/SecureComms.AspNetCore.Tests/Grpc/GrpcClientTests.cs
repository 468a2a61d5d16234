using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Grpc;

/// <summary>
/// Grpc.Net.Client clients from the gRPC client factory composed with SecureComms (<c>AddGrpcClient&lt;T&gt;(...).AddSecureComms(...)</c>
/// or a client configured under <c>SecureComms:Clients</c>), against a Grpc.AspNetCore service behind <c>AddSecureComms()</c>
/// and the development token server, all real and on loopback: mutual TLS with the server's SPIFFE ID checked, a
/// certificate-bound token on every call, renewal on Unauthenticated with invalid_token (unary and server-streaming calls
/// replayed, client streams not), deadlines honoured while a token is being acquired, and certificate rotation.
/// </summary>
[TestClass]
public sealed class GrpcClientTests
{
    internal const string Resource = "https://billing.example.org";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static IEnumerable<object[]> Registrations() => [[Registration.AddSecureCommsInCode], [Registration.ConfiguredClientName]];

    [TestMethod]
    [DynamicData(nameof(Registrations))]
    public async Task UnaryAndServerStreamingCalls_GoOverMutualTls_WithABoundToken_AndTheServiceSeesTheCaller(Registration registration)
    {
        await using World world = await World.StartAsync(registration);
        Ledger.LedgerClient ledger = world.LedgerClient();

        EntryReply one = await ledger.GetAsync(new EntryRequest { Id = "inv-1" }, deadline: Deadline());
        List<EntryReply> many = await ReadAllAsync(ledger.List(new EntryRequest { Id = "inv-1", Count = 3 }, deadline: Deadline()));

        Assert.AreEqual(TestPki.Orders.ToString(), one.Caller);
        Assert.Contains($"cert={world.OrdersSvid.Sha256Thumbprint}", one.Detail, "the token is bound to the certificate presented");
        Assert.HasCount(3, many);
        Assert.IsTrue(many.All(r => r.Caller == TestPki.Orders.ToString()));
        Assert.AreEqual(1, world.TokenServer.TokenRequestCount, "one token for every call");
    }

    [TestMethod]
    public async Task ServerWithAnotherSpiffeId_IsRefusedInTheHandshake_AndNoCallIsSent()
    {
        await using World world = await World.StartAsync(Registration.AddSecureCommsInCode, expectedServer: "spiffe://example.org/not-billing");

        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => world.LedgerClient().GetAsync(new EntryRequest(), deadline: Deadline()).ResponseAsync);

        Assert.AreEqual(StatusCode.Internal, refused.StatusCode, refused.Status.Detail); // Grpc.Net.Client's status for a failed send
        Assert.IsInstanceOfType<System.Security.Authentication.AuthenticationException>(refused.Status.DebugException?.InnerException, refused.Status.Detail);
        Assert.AreEqual(0, world.Requests("/securecomms.test.Ledger/Get"), "billing never saw a request");
    }

    [TestMethod]
    [DynamicData(nameof(Registrations))]
    public async Task UnaryCall_RefusedWithInvalidToken_RenewsTheTokenOnce_AndIsReplayed(Registration registration)
    {
        await using World world = await World.StartAsync(registration);
        await world.CacheATokenBillingWillRefuseAsync();

        EntryReply reply = await world.LedgerClient().GetAsync(new EntryRequest { Id = "inv-7", Payload = Google.Protobuf.ByteString.CopyFrom(new byte[1000]) }, deadline: Deadline());

        Assert.AreEqual("inv-7", reply.Id, "the replayed request is the same request");
        Assert.AreEqual(2, world.TokenServer.TokenRequestCount, "the refused token was replaced once");
        Assert.AreEqual(2, world.Requests("/securecomms.test.Ledger/Get"), "the call was sent twice: refused, then replayed");
        Assert.AreEqual(1, world.Calls.Runs("Get"));
        Assert.IsTrue(world.Billing.Logs.Contains(1400, "UnknownSigningKey"), "billing refused the first token");
    }

    [TestMethod]
    public async Task ServerStreamingCall_RefusedWithInvalidToken_RenewsTheTokenOnce_AndIsReplayed()
    {
        await using World world = await World.StartAsync(Registration.AddSecureCommsInCode);
        await world.CacheATokenBillingWillRefuseAsync();

        List<EntryReply> replies = await ReadAllAsync(world.LedgerClient().List(new EntryRequest { Id = "inv-8", Count = 4 }, deadline: Deadline()));

        Assert.HasCount(4, replies);
        Assert.AreEqual(2, world.TokenServer.TokenRequestCount);
        Assert.AreEqual(2, world.Requests("/securecomms.test.Ledger/List"));
        Assert.AreEqual(1, world.Calls.Runs("List"));
    }

    [TestMethod]
    public async Task ClientStreamingCall_RefusedWithInvalidToken_EndsUnauthenticated_AndIsNotReplayed_TheNextCallHasANewToken()
    {
        // Billing reads the whole upload before deciding (see World), so the stream is complete when the refusal comes:
        // it is still not replayed, since its messages were written by the application over time.
        await using World world = await World.StartAsync(Registration.AddSecureCommsInCode);
        await world.CacheATokenBillingWillRefuseAsync();

        using AsyncClientStreamingCall<EntryRequest, EntryReply> upload = world.LedgerClient().Upload(deadline: Deadline());
        await upload.RequestStream.WriteAsync(new EntryRequest { Id = "a" });
        await upload.RequestStream.WriteAsync(new EntryRequest { Id = "b" });
        await upload.RequestStream.CompleteAsync();
        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => upload.ResponseAsync);

        Assert.AreEqual(StatusCode.Unauthenticated, refused.StatusCode, refused.Status.Detail);
        Assert.Contains("error=\"invalid_token\"", refused.Trailers.GetValue("www-authenticate") ?? string.Empty);
        Assert.AreEqual(1, world.Requests("/securecomms.test.Ledger/Upload"), "the stream was not sent again");
        Assert.AreEqual(0, world.Calls.Runs("Upload"));

        EntryReply next = await world.LedgerClient().GetAsync(new EntryRequest(), deadline: Deadline());
        Assert.AreEqual(TestPki.Orders.ToString(), next.Caller);
        Assert.AreEqual(2, world.TokenServer.TokenRequestCount, "the refused token was dropped: the next call fetched a new one");
        Assert.AreEqual(1, world.Requests("/securecomms.test.Ledger/Get"), "and was not refused");
    }

    [TestMethod]
    public async Task Deadline_IsHonouredWhileATokenIsBeingAcquired_FromATokenServerThatDoesNotAnswer()
    {
        await using World world = await World.StartAsync(Registration.AddSecureCommsInCode);
        world.HoldTokenResponses();

        // Without the deadline reaching the token request, the call would wait for the token client's own attempt
        // timeouts and retries (10 s each by default) far beyond the bound below.
        Task<EntryReply> call = world.LedgerClient().GetAsync(new EntryRequest(), deadline: DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync;
        RpcException refused = await Assert.ThrowsExactlyAsync<RpcException>(() => call.WaitAsync(TimeSpan.FromSeconds(8)));

        Assert.AreEqual(StatusCode.DeadlineExceeded, refused.StatusCode, refused.Status.Detail);
        Assert.AreEqual(0, world.Requests("/securecomms.test.Ledger/Get"), "nothing was sent without a token");
    }

    [TestMethod]
    public async Task RotatedClientCertificate_TheNextCallsGoOnANewConnection_WithATokenBoundToTheNewCertificate()
    {
        await using World world = await World.StartAsync(Registration.ConfiguredClientName);
        Ledger.LedgerClient ledger = world.LedgerClient();
        EntryReply before = await ledger.GetAsync(new EntryRequest(), deadline: Deadline());

        WorkloadCertificate rotated = TestPki.Issue(TestPki.Orders);
        world.Certificates.Update(rotated);
        EntryReply after = before;
        await Eventually.WaitUntilAsync(
            async () =>
            {
                after = await ledger.GetAsync(new EntryRequest(), deadline: Deadline());
                return after.Detail.Contains($"cert={rotated.Sha256Thumbprint}", StringComparison.Ordinal);
            },
            "a call presents the new certificate",
            Bound);

        Assert.Contains($"cert={world.OrdersSvid.Sha256Thumbprint}", before.Detail);
        Assert.AreNotEqual(Field(before.Detail, "connection="), Field(after.Detail, "connection="), "a new connection");
        Assert.AreEqual(2, world.TokenServer.TokenRequestCount, "one token per certificate, none refused");
        Assert.DoesNotContain(e => e.Message.Contains(SecureCommsTelemetry.Reasons.TokenBoundToAnotherCertificate, StringComparison.Ordinal), world.Billing.Logs.GetSnapshot(), "no token was ever sent with another certificate");
    }

    internal static DateTime Deadline() => DateTime.UtcNow.Add(Bound);

    internal static async Task<List<EntryReply>> ReadAllAsync(AsyncServerStreamingCall<EntryReply> call)
    {
        using (call)
        {
            var replies = new List<EntryReply>();
            await foreach (EntryReply reply in call.ResponseStream.ReadAllAsync())
            {
                replies.Add(reply);
            }

            return replies;
        }
    }

    private static string Field(string detail, string name) => detail[(detail.IndexOf(name, StringComparison.Ordinal) + name.Length)..].Split(' ')[0];

    /// <summary>How the test registers the gRPC client.</summary>
    public enum Registration
    {
        /// <summary><c>AddGrpcClient&lt;LedgerClient&gt;(o =&gt; o.Address = ...).AddSecureComms("spiffe://example.org/billing")</c>.</summary>
        AddSecureCommsInCode,

        /// <summary><c>SecureComms:Clients:billing</c> in configuration and <c>AddGrpcClient&lt;LedgerClient&gt;("billing")</c>.</summary>
        ConfiguredClientName,
    }

    /// <summary>The development token server, the billing gRPC service and the orders side's gRPC client.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
        private TaskCompletionSource _tokenGate = Opened();
        private ServiceProvider _orders = null!;

        private World(DevelopmentTokenServer tokenServer, WorkloadCertificate ordersSvid)
        {
            TokenServer = tokenServer;
            OrdersSvid = ordersSvid;
            Certificates = new InMemoryCertificateSource(ordersSvid);
        }

        public DevelopmentTokenServer TokenServer { get; }

        public SecureServiceHost Billing { get; private set; } = null!;

        public GrpcCalls Calls { get; } = new();

        public WorkloadCertificate OrdersSvid { get; }

        public InMemoryCertificateSource Certificates { get; }

        public static async Task<World> StartAsync(Registration registration, string expectedServer = "spiffe://example.org/billing")
        {
            World? world = null;
            DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
            {
                ServerCertificate = TestPki.Issue(SpiffeId.Parse("spiffe://example.org/token-server")),
                ClientTrust = TestPki.Ca.CreateTrustBundle(),
                Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = TestPki.Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] }],
                BeforeTokenResponse = ct => Volatile.Read(ref world!._tokenGate).Task.WaitAsync(ct),
            });
            world = new World(tokenServer, TestPki.Issue(TestPki.Orders));
            string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);
            world.Billing = await SecureServiceHost.StartAsync(
                app =>
                {
                    // Counts every call that reaches billing, refused or not; reads a whole upload before authentication
                    // decides, so that a client stream is complete when it is refused.
                    app.Use(async (HttpContext context, RequestDelegate next) =>
                    {
                        world._requests.AddOrUpdate(context.Request.Path.Value!, 1, (_, n) => n + 1);
                        if (context.Request.Path.Value!.EndsWith("/Upload", StringComparison.Ordinal))
                        {
                            context.Request.EnableBuffering();
                            await context.Request.Body.CopyToAsync(Stream.Null);
                            context.Request.Body.Position = 0;
                        }

                        await next(context);
                    });
                    app.UseAuthentication();
                    app.UseAuthorization();
                    app.MapGrpcService<LedgerService>().RequireCaller(TestPki.Orders.ToString()).RequireScope("invoices.read");
                },
                new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
                TestPki.Bundles(),
                new Dictionary<string, string?>
                {
                    ["SecureComms:TokenValidation:Authority"] = authority,
                    ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                    ["SecureComms:TokenValidation:Audience"] = Resource,
                },
                services =>
                {
                    services.AddGrpc();
                    services.AddSingleton(world.Calls);
                });

            var services = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Debug));
            if (registration == Registration.AddSecureCommsInCode)
            {
                services.AddSecureCommsCore(o => o.Clients[nameof(Ledger.LedgerClient)] = new SecureClientOptions
                {
                    Token = new AccessTokenOptions
                    {
                        Authority = new Uri(authority),
                        ExpectedServer = "spiffe://example.org/token-server",
                        ClientId = "orders",
                        Scope = "invoices.read",
                        Resource = new Uri(Resource),
                    },
                })
                    .UseCertificateSource(world.Certificates)
                    .UseTrustBundleSource(TestPki.Bundles());
                services.AddGrpcClient<Ledger.LedgerClient>(o => o.Address = world.Billing.BaseAddress).AddSecureComms(expectedServer);
            }
            else
            {
                IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["SecureComms:Clients:billing:BaseAddress"] = world.Billing.BaseAddress.ToString(),
                    ["SecureComms:Clients:billing:ExpectedServer"] = expectedServer,
                    ["SecureComms:Clients:billing:RotationDrainTime"] = "00:00:05",
                    ["SecureComms:Clients:billing:Token:Authority"] = authority,
                    ["SecureComms:Clients:billing:Token:ExpectedServer"] = "spiffe://example.org/token-server",
                    ["SecureComms:Clients:billing:Token:ClientId"] = "orders",
                    ["SecureComms:Clients:billing:Token:Scope"] = "invoices.read",
                    ["SecureComms:Clients:billing:Token:Resource"] = Resource,
                }).Build();
                services.AddSecureCommsCore(configuration).UseCertificateSource(world.Certificates).UseTrustBundleSource(TestPki.Bundles());
                services.AddGrpcClient<Ledger.LedgerClient>("billing");
            }

            world._orders = services.BuildServiceProvider();
            return world;
        }

        public Ledger.LedgerClient LedgerClient() => _orders.GetRequiredService<Ledger.LedgerClient>();

        public int Requests(string path) => _requests.TryGetValue(path, out int n) ? n : 0;

        /// <summary>From now on the token server takes requests but does not answer them.</summary>
        public void HoldTokenResponses() => Volatile.Write(ref _tokenGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        /// <summary>
        /// Has the orders client cache a token, then rotates the token server's signing key, retiring the old one, before
        /// billing has seen any token: billing's first look at the issuer's keys finds the new key only, so it refuses the
        /// cached token with invalid_token (UnknownSigningKey) and accepts its renewal.
        /// </summary>
        public async Task CacheATokenBillingWillRefuseAsync()
        {
            string name = _orders.GetRequiredService<LastGoodOptions<SecureCommsOptions>>().Current.Clients.Keys.Single();
            CertificateBoundTokenProvider provider = _orders.GetRequiredService<TokenProviderRegistry>().GetProvider(name)!;
            await provider.GetTokenAsync(CancellationToken.None);
            TokenServer.RotateSigningKey(retirePreviousKeys: true);
        }

        public async ValueTask DisposeAsync()
        {
            _tokenGate.TrySetResult();
            await _orders.DisposeAsync();
            await Billing.DisposeAsync();
            await TokenServer.DisposeAsync();
            Certificates.Dispose();
        }

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
