using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// The provider with a token source in the test process (<see cref="ScriptedTokenRequester"/>), for what a real token
/// server cannot be made to show cheaply: the bound on cached exchanged tokens (ten thousand), failures without an
/// endpoint or description, unexpected exceptions, requests that complete at once.
/// </summary>
[TestClass]
public sealed class CertificateBoundTokenProviderInProcessTests
{
    private const int ExchangedTokenLimit = 10_000;
    private const int FailedEvent = 1502;
    private static readonly Uri TokenEndpoint = new("https://as.example.org/token");
    private static readonly Lazy<WorkloadCertificate> Certificate = new(() =>
        DevelopmentCertificateAuthority.Create(TrustDomain.Parse("example.org")).IssueSvid(SpiffeId.Parse("spiffe://example.org/orders")));

    [TestMethod]
    public async Task WhenTenThousandTokensAreCached_AnExchangeDropsEveryIdleExchangedToken_ButNotTheClientsOwn()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var requester = new ScriptedTokenRequester(time);
        using CertificateBoundTokenProvider provider = Provider(requester, time);
        AccessToken own = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken firstExchanged = await provider.GetExchangedTokenAsync("user-0", CancellationToken.None);
        for (int i = 1; i < ExchangedTokenLimit - 1; i++)
        {
            await provider.GetExchangedTokenAsync($"user-{i}", CancellationToken.None); // with the client's own: 10,000 cached
        }

        AccessToken atTheLimit = await provider.GetExchangedTokenAsync("user-0", CancellationToken.None);
        AccessToken afterPruning = await provider.GetExchangedTokenAsync("user-1", CancellationToken.None);

        int requests = requester.RequestCount;
        time.Advance(own.ExpiresAt - TimeSpan.FromSeconds(30) - time.GetUtcNow()); // the renewal window: the cache is asked
        AccessToken ownInTheRenewalWindow = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreNotSame(firstExchanged, atTheLimit, "at the limit every idle exchanged token is dropped, the one asked for too");
        Assert.AreEqual($"user-0-{ExchangedTokenLimit + 1}", atTheLimit.Value);
        Assert.AreEqual($"user-1-{ExchangedTokenLimit + 2}", afterPruning.Value);
        Assert.AreEqual(ExchangedTokenLimit + 2, requests);
        Assert.AreSame(own, ownInTheRenewalWindow, "the client's own token is not dropped with the exchanged ones");
    }

    [TestMethod]
    public async Task WhenTenThousandTokensAreCached_ExchangedTokensExpiringThatInstant_AreDroppedFirst_AndTheValidOnesKept()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var requester = new ScriptedTokenRequester(time) { Lifetime = TimeSpan.FromMinutes(10) };
        using CertificateBoundTokenProvider provider = Provider(requester, time);
        DateTimeOffset firstHalfExpires = time.GetUtcNow() + requester.Lifetime;
        for (int i = 0; i < ExchangedTokenLimit / 2; i++)
        {
            await provider.GetExchangedTokenAsync($"early-{i}", CancellationToken.None);
        }

        time.Advance(TimeSpan.FromMinutes(5));
        AccessToken late = await provider.GetExchangedTokenAsync("late-0", CancellationToken.None);
        for (int i = 1; i < ExchangedTokenLimit / 2; i++)
        {
            await provider.GetExchangedTokenAsync($"late-{i}", CancellationToken.None);
        }

        time.Advance(firstHalfExpires - time.GetUtcNow());
        AccessToken lateAgain = await provider.GetExchangedTokenAsync("late-0", CancellationToken.None);
        AccessToken lateLast = await provider.GetExchangedTokenAsync($"late-{(ExchangedTokenLimit / 2) - 1}", CancellationToken.None);

        Assert.AreSame(late, lateAgain, "the expired half made room: the valid tokens stay cached");
        Assert.AreEqual($"late-{(ExchangedTokenLimit / 2) - 1}-{ExchangedTokenLimit}", lateLast.Value);
        Assert.AreEqual(ExchangedTokenLimit, requester.RequestCount);
    }

    [TestMethod]
    public async Task AnUnexpectedException_IsNotHandedToLaterCallers()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var requester = new ScriptedTokenRequester(time);
        requester.Respond = (request, certificate, _) => request == 1
            ? throw new InvalidOperationException("the requester broke")
            : Task.FromResult(new AccessToken("after-the-failure", "Bearer", time.GetUtcNow(), time.GetUtcNow().AddMinutes(5), null, certificate));
        using CertificateBoundTokenProvider provider = Provider(requester, time);

        await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual("after-the-failure", token.Value);
        Assert.AreEqual(2, requester.RequestCount);
    }

    [TestMethod]
    public async Task AFailureReportedAtOnce_EndsTheRequest_SoTheNextCallAsksAgain()
    {
        // A circuit breaker that is open refuses without I/O: the requester's task has already failed when it returns.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var requester = new ScriptedTokenRequester(time);
        requester.Respond = (request, certificate, _) => request == 1
            ? Task.FromException<AccessToken>(new TokenAcquisitionException("circuit_open", "paused.", TokenEndpoint))
            : Task.FromResult(new AccessToken("after-the-failure", "Bearer", time.GetUtcNow(), time.GetUtcNow().AddMinutes(5), null, certificate));
        using CertificateBoundTokenProvider provider = Provider(requester, time, o => o.FailureBackoff = TimeSpan.Zero);

        TokenAcquisitionException failure = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual("circuit_open", failure.Error);
        Assert.AreEqual("after-the-failure", token.Value);
        Assert.AreEqual(2, requester.RequestCount);
    }

    [TestMethod]
    [DataRow("https://as.example.org/token", "https://as.example.org/", null, "https://as.example.org/token", DisplayName = "the token endpoint first")]
    [DataRow(null, "https://as.example.org/", null, "https://as.example.org/", DisplayName = "else the authority")]
    [DataRow(null, null, "https://known.example.org/token", "https://known.example.org/token", DisplayName = "else the requester's own endpoint")]
    public async Task AFailureNamingNoEndpointOrDescription_IsLoggedAgainstTheConfiguredServer_AndBackedOffWithNoDescription(
        string? tokenEndpoint, string? authority, string? known, string expectedServer)
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var requester = new ScriptedTokenRequester(time, known is null ? null : new Uri(known))
        {
            Respond = (_, _, _) => Task.FromException<AccessToken>(new TokenAcquisitionException("server_unavailable", null, null)),
        };
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = Provider(
            requester,
            time,
            o => { o.TokenEndpoint = tokenEndpoint is null ? null : new Uri(tokenEndpoint); o.Authority = authority is null ? null : new Uri(authority); },
            logs);

        await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
        TokenAcquisitionException backedOff = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual(
            $"SecureComms client in-process could not obtain a token from {expectedServer}: server_unavailable ",
            logs.Collector.GetSnapshot().Single(r => r.Id.Id == FailedEvent).Message);
        Assert.StartsWith("no description [no request sent: 1 consecutive failure(s), next attempt after ", backedOff.ErrorDescription!);
        Assert.AreEqual(1, requester.RequestCount);
    }

    [TestMethod]
    public void WithoutATokenEndpointOrAnAuthority_TheProviderIsRefused()
    {
        var time = new FakeTimeProvider();

        ArgumentException error = Assert.ThrowsExactly<ArgumentException>(() => Provider(new ScriptedTokenRequester(time), time, o => o.TokenEndpoint = null));

        Assert.AreEqual("options", error.ParamName);
        Assert.StartsWith("A token endpoint or an authority is required.", error.Message);
    }

    [TestMethod]
    public void DisposingTheProvider_DisposesItsRequester()
    {
        var time = new FakeTimeProvider();
        var requester = new ScriptedTokenRequester(time);

        Provider(requester, time).Dispose();

        Assert.AreEqual(1, requester.Disposals);
    }

    private static CertificateBoundTokenProvider Provider(ScriptedTokenRequester requester, TimeProvider time, Action<AccessTokenOptions>? configure = null, ILogger? logger = null)
    {
        var options = new AccessTokenOptions { TokenEndpoint = TokenEndpoint, ClientId = "orders", MaxRetries = 0 };
        configure?.Invoke(options);
        return new CertificateBoundTokenProvider("in-process", options, new InMemoryCertificateSource(Certificate.Value), requester, time, logger ?? NullLogger.Instance);
    }
}
