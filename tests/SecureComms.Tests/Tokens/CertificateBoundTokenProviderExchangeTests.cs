using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// Token exchange (RFC 8693) through the provider against a real token server: one cached token per subject token, one
/// request however many callers, a back-off per subject token, and never the client's own token in place of an exchanged
/// one (or the other way round). Also what <see cref="CertificateBoundTokenProvider.Invalidate"/> drops.
/// </summary>
[TestClass]
public sealed class CertificateBoundTokenProviderExchangeTests
{
    private const string OrdersApi = "https://orders.example.org";
    private const int CacheHitEvent = 1503;

    [TestMethod]
    public async Task ExchangedTokens_AreCachedPerSubjectToken_AndNeverServedAsTheClientsOwnToken()
    {
        await using TokenTestBed bed = await StartAsync();
        var logs = new FakeLogger();
        using var telemetry = new TokenTelemetryRecorder();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(), logs, telemetry.Metrics);
        string alice = bed.Server.IssueUserToken("alice", OrdersApi);
        string bob = bed.Server.IssueUserToken("bob", OrdersApi);

        AccessToken own = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken forAlice = await provider.GetExchangedTokenAsync(alice, CancellationToken.None);
        AccessToken forAliceAgain = await provider.GetExchangedTokenAsync(alice, CancellationToken.None);
        AccessToken forBob = await provider.GetExchangedTokenAsync(bob, CancellationToken.None);
        AccessToken ownAgain = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual("orders", TokenTestBed.Subject(own));
        Assert.AreEqual("alice", TokenTestBed.Subject(forAlice));
        Assert.AreSame(forAlice, forAliceAgain, "cached per subject token");
        Assert.AreEqual("bob", TokenTestBed.Subject(forBob));
        Assert.AreSame(own, ownAgain, "the client's own token, not the last exchanged one");
        Assert.AreEqual(3, bed.Server.TokenRequestCount);
        CollectionAssert.AreEqual(
            new[]
            {
                SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.CacheHit,
                SecureCommsTelemetry.Results.Acquired, SecureCommsTelemetry.Results.CacheHit,
            },
            telemetry.Results);
        Assert.AreEqual(1, logs.CountOf(CacheHitEvent), "the exchanged token's cache hit; the client's own token is served without a log");
    }

    [TestMethod]
    public async Task ConcurrentExchangesOfOneSubjectToken_SendOneRequest()
    {
        await using TokenTestBed bed = await StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        string alice = bed.Server.IssueUserToken("alice", OrdersApi);

        AccessToken[] tokens = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => provider.GetExchangedTokenAsync(alice, CancellationToken.None))));

        Assert.AreEqual(1, bed.Server.TokenRequestCount);
        Assert.HasCount(1, tokens.Distinct());
    }

    [TestMethod]
    public async Task AfterARotation_AnExchangeWaitsForItsOwnToken_InsteadOfThePreviousPair()
    {
        await using TokenTestBed bed = await StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        AccessToken own = await provider.GetTokenAsync(CancellationToken.None);

        WorkloadCertificate rotated = bed.Ca.IssueSvid(TokenTestBed.Orders);
        bed.Certificates.Update(rotated);
        AccessToken exchanged = await provider.GetExchangedTokenAsync(bed.Server.IssueUserToken("alice", OrdersApi), CancellationToken.None);

        Assert.AreNotSame(own, exchanged);
        Assert.AreEqual("alice", TokenTestBed.Subject(exchanged));
        Assert.AreSame(rotated, exchanged.Certificate);
    }

    [TestMethod]
    public async Task AFailedExchange_IsBackedOffForThatSubjectTokenOnly_AndNeverAnsweredWithThePreviousPair()
    {
        await using TokenTestBed bed = await StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        await provider.GetTokenAsync(CancellationToken.None);
        bed.Certificates.Update(bed.Ca.IssueSvid(TokenTestBed.Orders));

        TokenAcquisitionException refused = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetExchangedTokenAsync("not-a-token", CancellationToken.None));
        TokenAcquisitionException backedOff = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetExchangedTokenAsync("not-a-token", CancellationToken.None));
        int requestsForTheRefusedSubject = bed.Server.TokenRequestCount;
        AccessToken forAlice = await provider.GetExchangedTokenAsync(bed.Server.IssueUserToken("alice", OrdersApi), CancellationToken.None);

        Assert.AreEqual("invalid_grant", refused.Error);
        Assert.AreEqual("invalid_grant", backedOff.Error);
        Assert.Contains("[no request sent: 1 consecutive failure(s)", backedOff.Message);
        Assert.AreEqual(2, requestsForTheRefusedSubject, "the client's token, then one exchange");
        Assert.AreEqual("alice", TokenTestBed.Subject(forAlice), "another subject token is not backed off");
    }

    [TestMethod]
    public async Task InvalidatingATokenTheProviderDoesNotHold_DropsNothing()
    {
        await using TokenTestBed bed = await StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var foreign = new AccessToken("foreign", "Bearer", now, now.AddMinutes(5), null, bed.Certificates.Current);
        string alice = bed.Server.IssueUserToken("alice", OrdersApi);

        provider.Invalidate(foreign); // nothing cached yet
        AccessToken own = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken forAlice = await provider.GetExchangedTokenAsync(alice, CancellationToken.None);
        provider.Invalidate(foreign);

        Assert.AreSame(own, await provider.GetTokenAsync(CancellationToken.None));
        Assert.AreSame(forAlice, await provider.GetExchangedTokenAsync(alice, CancellationToken.None));
        Assert.AreEqual(2, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task InvalidatingAnExchangedToken_DropsOnlyThatToken()
    {
        await using TokenTestBed bed = await StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        string alice = bed.Server.IssueUserToken("alice", OrdersApi);
        AccessToken own = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken forAlice = await provider.GetExchangedTokenAsync(alice, CancellationToken.None);

        provider.Invalidate(forAlice);
        AccessToken forAliceAgain = await provider.GetExchangedTokenAsync(alice, CancellationToken.None);

        Assert.AreNotSame(forAlice, forAliceAgain);
        Assert.AreEqual("alice", TokenTestBed.Subject(forAliceAgain));
        Assert.AreSame(own, await provider.GetTokenAsync(CancellationToken.None));
        Assert.AreEqual(3, bed.Server.TokenRequestCount);
    }

    private static Task<TokenTestBed> StartAsync() => TokenTestBed.StartAsync(clients: (_, _) =>
    [
        new DevelopmentClient
        {
            ClientId = "orders",
            TlsClientAuthSanUri = TokenTestBed.Orders,
            AllowedScopes = ["invoices.read"],
            AllowedResources = [TokenTestBed.Billing.OriginalString],
            ExchangeableAudiences = [OrdersApi],
        },
    ]);
}
