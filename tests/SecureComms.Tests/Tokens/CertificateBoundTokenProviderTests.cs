using System.Net;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>Caching, refresh ahead, single flight, resilience and fail-closed behaviour against a real token server.</summary>
[TestClass]
public sealed class CertificateBoundTokenProviderTests
{
    private const int CacheHitEvent = 1503;

    [TestMethod]
    public async Task TwoHundredConcurrentCallers_CauseExactlyOneTokenRequest()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());

        AccessToken[] tokens = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => provider.GetTokenAsync(CancellationToken.None).AsTask())));

        Assert.AreEqual(1, bed.Server.TokenRequestCount);
        Assert.HasCount(1, tokens.Distinct(), "every caller got the same token");
    }

    [TestMethod]
    public async Task Token_IsBoundToTheWorkloadCertificate()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());

        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, TokenTestBed.BoundThumbprint(token));
        Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, token.CertificateThumbprint);
    }

    [TestMethod]
    public async Task CachedToken_IsReusedUntilTheRefreshWindow_ThenRenewedAhead_WhileTheOldOneIsStillServed()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);
        TimeSpan lifetime = first.ExpiresAt - first.IssuedAt; // 5 minutes: refresh 30 s (10 %) before expiry

        time.Advance(lifetime - TimeSpan.FromSeconds(31));
        AccessToken beforeWindow = await provider.GetTokenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(2));
        AccessToken inWindow = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => bed.Server.TokenRequestCount == 2, "the renewal ahead reaches the server");
        AccessToken renewed = await WaitForNewTokenAsync(provider, first);

        Assert.AreSame(first, beforeWindow, "before the refresh window the cached token is served");
        Assert.AreSame(first, inWindow, "inside the window the still-valid token is served while the renewal runs");
        Assert.AreNotSame(first, renewed);
        Assert.AreEqual(2, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task ConfiguredRefreshBeforeExpiry_IsHonoured()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.MaxRetries = 0; o.RefreshBeforeExpiry = TimeSpan.FromMinutes(2); }));
        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);

        time.Advance(first.ExpiresAt - first.IssuedAt - TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        await provider.GetTokenAsync(CancellationToken.None);

        await Eventually.WaitUntilAsync(() => bed.Server.TokenRequestCount == 2, "the renewal two minutes before expiry reaches the server");
    }

    [TestMethod]
    public async Task ServerFailingTwiceWith500_ThenSucceeding_GivesAToken_AfterRetries()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        bed.Server.EnqueueFailures(2, HttpStatusCode.InternalServerError);

        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);

        Assert.IsNotNull(token.Value);
        Assert.AreEqual(3, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task TooManyRequests_WithRetryAfter_IsRetriedAfterTheServersDelay()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        bed.Server.EnqueueFailures(1, HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.FromSeconds(1));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual(2, bed.Server.TokenRequestCount);
        Assert.IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), watch.Elapsed, $"waited {watch.Elapsed}, Retry-After said 1 s");
    }

    [TestMethod]
    public async Task PersistentServerErrors_FailClosed_WithServerUnavailable()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 2));
        bed.Server.EnqueueFailures(10, HttpStatusCode.ServiceUnavailable);

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual("server_unavailable", error.Error);
        Assert.AreEqual(3, bed.Server.TokenRequestCount, "one attempt and two retries");
        Assert.AreEqual(bed.Server.TokenEndpoint, error.TokenEndpoint);
    }

    [TestMethod]
    public async Task RepeatedServerFailures_OpenTheCircuit_AndLaterCallsDoNotReachTheServer()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.MaxRetries = 0; o.CircuitBreakerBreakDuration = TimeSpan.FromMinutes(1); o.FailureBackoff = TimeSpan.Zero; }));
        bed.Server.EnqueueFailures(50, HttpStatusCode.ServiceUnavailable);
        var errors = new List<string>();

        for (int i = 0; i < 15; i++)
        {
            TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
            errors.Add(error.Error);
        }

        Assert.AreEqual(10, bed.Server.TokenRequestCount, "the breaker opened after 10 failed calls (its minimum throughput)");
        Assert.AreEqual(10, errors.Count(e => e == "server_unavailable"));
        Assert.AreEqual(5, errors.Count(e => e == "circuit_open"), "later calls fail fast without reaching the server");
    }

    [TestMethod]
    [DataRow("unknown-client", null, "invalid_client", DisplayName = "invalid_client")]
    [DataRow("orders", "billing.admin", "invalid_scope", DisplayName = "invalid_scope")]
    public async Task OAuthError_IsNotRetried_AndCarriesTheServersError(string clientId, string? scope, string expectedError)
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.ClientId = clientId; o.Scope = scope ?? o.Scope; }));

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreEqual(expectedError, error.Error);
        Assert.AreEqual(1, bed.Server.TokenRequestCount, "OAuth errors are not retried");
    }

    [TestMethod]
    public async Task ServerDown_WithAValidCachedToken_KeepsServingIt_UntilItExpires_ThenFailsClosed()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        TokenTestBed bed = await TokenTestBed.StartAsync(time);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => o.MaxRetries = 0));
        AccessToken token = await provider.GetTokenAsync(CancellationToken.None);
        await bed.DisposeAsync(); // the authorization server goes away

        time.Advance(token.ExpiresAt - token.IssuedAt - TimeSpan.FromSeconds(10)); // inside the refresh window
        AccessToken stillServed = await provider.GetTokenAsync(CancellationToken.None);
        await Eventually.WaitUntilAsync(() => provider.Status.LastFailure is not null, "the background renewal fails");
        AccessToken servedAfterFailedRenewal = await provider.GetTokenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(11)); // now expired

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.AreSame(token, stillServed);
        Assert.AreSame(token, servedAfterFailedRenewal);
        Assert.AreEqual("server_unavailable", provider.Status.LastError, "the renewal failed because the server is gone");
        Assert.AreEqual("server_unavailable", error.Error);
    }

    [TestMethod]
    public async Task RotatedCertificate_GetsANewTokenBoundToTheNewCertificate()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options());
        AccessToken before = await provider.GetTokenAsync(CancellationToken.None);

        WorkloadCertificate rotated = bed.Ca.IssueSvid(TokenTestBed.Orders);
        bed.Certificates.Update(rotated);
        AccessToken whileRequested = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken after = await WaitForNewTokenAsync(provider, before);

        Assert.AreSame(before, whileRequested, "make before break: the previous pair carries on until the new token is ready");
        Assert.AreSame(bed.Certificates.Current, after.Certificate);
        Assert.AreEqual(2, bed.Server.TokenRequestCount);
        Assert.AreEqual(rotated.Sha256Thumbprint, TokenTestBed.BoundThumbprint(after), "the new token's cnf names the new certificate");
        Assert.AreNotEqual(TokenTestBed.BoundThumbprint(before), TokenTestBed.BoundThumbprint(after));
    }

    [TestMethod]
    public async Task ACertificateRolledBack_GetsItsStillValidToken_WithoutARequest()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        var logs = new FakeLogger();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(), logs);
        WorkloadCertificate original = bed.Certificates.Current;
        AccessToken forOriginal = await provider.GetTokenAsync(CancellationToken.None);
        bed.Certificates.Update(bed.Ca.IssueSvid(TokenTestBed.Orders));
        await WaitForNewTokenAsync(provider, forOriginal);
        int cacheLookupsBefore = logs.CountOf(CacheHitEvent);

        bed.Certificates.Update(original); // e.g. a certificate file restored from a backup
        AccessToken afterRollBack = await provider.GetTokenAsync(CancellationToken.None);
        AccessToken again = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreSame(forOriginal, afterRollBack);
        Assert.AreSame(forOriginal, again);
        Assert.AreEqual(2, bed.Server.TokenRequestCount);
        Assert.AreEqual(cacheLookupsBefore + 1, logs.CountOf(CacheHitEvent), "found in the cache once, then served as the current pair");
    }

    [TestMethod]
    public async Task TokenEndpoint_IsDiscoveredFromMetadata_PreferringTheMtlsAlias()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync();
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.TokenEndpoint = null; o.Authority = bed.Server.Issuer; }));

        await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual(new Uri(bed.Server.Issuer, "/mtls/token"), await provider.Endpoint.GetTokenEndpointAsync(CancellationToken.None));
        Assert.AreEqual(1, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public async Task SelfSignedTlsClientAuth_And_PrivateKeyJwt_BothGiveBoundTokens()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: (_, orders) =>
        [
            new DevelopmentClient { ClientId = "orders-self-signed", Authentication = TokenClientAuthentication.SelfSignedTlsClientAuth, RegisteredCertificate = orders.Certificate, AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
            new DevelopmentClient { ClientId = "orders-jwt", Authentication = TokenClientAuthentication.PrivateKeyJwt, RegisteredCertificate = orders.Certificate, AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
        ]);
        using CertificateBoundTokenProvider selfSigned = bed.Provider(bed.Options(o => { o.ClientId = "orders-self-signed"; o.ClientAuthentication = TokenClientAuthentication.SelfSignedTlsClientAuth; }));
        using CertificateBoundTokenProvider privateKeyJwt = bed.Provider(bed.Options(o => { o.ClientId = "orders-jwt"; o.ClientAuthentication = TokenClientAuthentication.PrivateKeyJwt; }));

        AccessToken a = await selfSigned.GetTokenAsync(CancellationToken.None);
        AccessToken b = await privateKeyJwt.GetTokenAsync(CancellationToken.None);

        Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, TokenTestBed.BoundThumbprint(a));
        Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, TokenTestBed.BoundThumbprint(b));
    }

    [TestMethod]
    public async Task PrivateKeyJwt_SignsAFreshAssertionForEveryRequest_WithTheSameCertificate()
    {
        await using TokenTestBed bed = await TokenTestBed.StartAsync(clients: (_, orders) =>
        [
            new DevelopmentClient { ClientId = "orders-jwt", Authentication = TokenClientAuthentication.PrivateKeyJwt, RegisteredCertificate = orders.Certificate, AllowedScopes = ["invoices.read"], AllowedResources = [TokenTestBed.Billing.OriginalString] },
        ]);
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o => { o.ClientId = "orders-jwt"; o.ClientAuthentication = TokenClientAuthentication.PrivateKeyJwt; }));

        AccessToken first = await provider.GetTokenAsync(CancellationToken.None);
        provider.Invalidate(first);
        AccessToken second = await provider.GetTokenAsync(CancellationToken.None);

        Assert.AreNotSame(first, second);
        Assert.AreEqual(2, bed.Server.TokenRequestCount, "two assertions, each accepted (a reused jti would be refused)");
    }

    private static Task<AccessToken> WaitForNewTokenAsync(CertificateBoundTokenProvider provider, AccessToken old) =>
        Eventually.WaitForAsync(
            async () =>
            {
                AccessToken current = await provider.GetTokenAsync(CancellationToken.None);
                return ReferenceEquals(current, old) ? null : current;
            },
            "the renewed token replaces the old one");
}
