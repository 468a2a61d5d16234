namespace SecureComms;

/// <summary>
/// An access token obtained for an outbound client, bound to the certificate it was requested with.
/// <see cref="ToString"/> never prints the token itself.
/// </summary>
public sealed class AccessToken
{
    private string? _authorizationHeaderValue;

    internal AccessToken(string value, string tokenType, DateTimeOffset issuedAt, DateTimeOffset expiresAt, string? scope, WorkloadCertificate certificate)
    {
        Certificate = certificate;
        Value = value;
        TokenType = tokenType;
        IssuedAt = issuedAt;
        ExpiresAt = expiresAt;
        Scope = scope;
        CertificateThumbprint = certificate.Sha256Thumbprint;
    }

    /// <summary>The token, to send as <c>Authorization: Bearer</c>. Secret: never log it.</summary>
    public string Value { get; }

    /// <summary>The token type, <c>Bearer</c>.</summary>
    public string TokenType { get; }

    /// <summary>When the token was received.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>When the token expires.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The granted scope, when the server said.</summary>
    public string? Scope { get; }

    /// <summary>Base64url SHA-256 of the certificate the token was requested with (the expected <c>cnf.x5t#S256</c>).</summary>
    public string CertificateThumbprint { get; }

    /// <summary>
    /// The certificate the token was requested with and is bound to: a request carrying this token must go out on a
    /// connection presenting this certificate (RFC 8705 §3), which is how <see cref="MtlsClientHandler"/> picks its pool.
    /// </summary>
    internal WorkloadCertificate Certificate { get; }

    /// <summary>
    /// <c>Bearer {token}</c>, built once per token so that a request does not format (and allocate) its
    /// <c>Authorization</c> header again. RFC 6750 §2.1.
    /// </summary>
    internal string AuthorizationHeaderValue => _authorizationHeaderValue ??= "Bearer " + Value;

    /// <summary>Describes the token without revealing it.</summary>
    public override string ToString() => $"{TokenType} token (redacted), expires {ExpiresAt:O}";
}
