namespace SecureComms.Tests.Tokens;

/// <summary>
/// A token source in the test process for what a real token server cannot be made to do cheaply: hand out ten thousand
/// exchanged tokens in a second, fail with an unexpected exception or without a description, fail without any I/O.
/// Each request gets a new token (<c>{subject token or "client"}-{request number}</c>) unless <see cref="Respond"/> says
/// otherwise.
/// </summary>
internal sealed class ScriptedTokenRequester(TimeProvider time, Uri? knownTokenEndpoint = null) : ITokenRequester
{
    public static readonly Uri DiscoveredEndpoint = new("https://as.example.org/discovered/token");

    private int _requests;
    private int _disposals;

    public Uri? KnownTokenEndpoint => knownTokenEndpoint;

    /// <summary>The lifetime of the tokens handed out.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Answers request number n (from 1) for a certificate and subject token; null: a new token.</summary>
    public Func<int, WorkloadCertificate, string?, Task<AccessToken>>? Respond { get; set; }

    public int RequestCount => Volatile.Read(ref _requests);

    public int Disposals => Volatile.Read(ref _disposals);

    public Task<Uri> GetTokenEndpointAsync(CancellationToken cancellationToken) => Task.FromResult(knownTokenEndpoint ?? DiscoveredEndpoint);

    public Task<AccessToken> RequestTokenAsync(Uri endpoint, WorkloadCertificate certificate, CancellationToken cancellationToken, string? subjectToken = null)
    {
        int request = Interlocked.Increment(ref _requests);
        if (Respond is { } respond)
        {
            return respond(request, certificate, subjectToken);
        }

        DateTimeOffset now = time.GetUtcNow();
        return Task.FromResult(new AccessToken($"{subjectToken ?? "client"}-{request}", "Bearer", now, now + Lifetime, null, certificate));
    }

    public void Dispose() => Interlocked.Increment(ref _disposals);
}
