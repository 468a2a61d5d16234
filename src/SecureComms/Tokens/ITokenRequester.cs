namespace SecureComms;

/// <summary>
/// Where <see cref="CertificateBoundTokenProvider"/> gets a new token from: an OAuth token endpoint
/// (<see cref="TokenEndpointClient"/>) or the SPIFFE Workload API (<see cref="JwtSvidTokenRequester"/>). The provider
/// keeps the cache, the renewal ahead of expiry, the single flight and the failure back-off for both.
/// </summary>
internal interface ITokenRequester : IDisposable
{
    /// <summary>The address tokens come from once known (spans, logs and errors); null before discovery.</summary>
    Uri? KnownTokenEndpoint { get; }

    /// <summary>The address tokens come from, discovering it first when needed.</summary>
    /// <exception cref="TokenAcquisitionException">Discovery failed.</exception>
    Task<Uri> GetTokenEndpointAsync(CancellationToken cancellationToken);

    /// <summary>A new token for <paramref name="certificate"/> (exchanged for <paramref name="subjectToken"/> when given).</summary>
    /// <exception cref="TokenAcquisitionException">No valid token could be obtained.</exception>
    Task<AccessToken> RequestTokenAsync(Uri endpoint, WorkloadCertificate certificate, CancellationToken cancellationToken, string? subjectToken = null);
}
