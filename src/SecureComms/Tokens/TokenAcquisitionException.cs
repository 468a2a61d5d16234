namespace SecureComms;

/// <summary>
/// An access token could not be obtained, so the outbound request was not sent (fail closed). Carries the OAuth
/// <c>error</c> and <c>error_description</c> of the authorization server when it gave them; never a token or key.
/// </summary>
public sealed class TokenAcquisitionException : Exception
{
    /// <summary>Creates an exception.</summary>
    public TokenAcquisitionException()
        : this("The access token could not be obtained.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public TokenAcquisitionException(string message)
        : base(message)
    {
        Error = "unknown";
    }

    /// <summary>Creates an exception with a message and cause.</summary>
    public TokenAcquisitionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = "unknown";
    }

    internal TokenAcquisitionException(string error, string? errorDescription, Uri? tokenEndpoint, Exception? innerException = null)
        : base(Describe(error, errorDescription, tokenEndpoint), innerException)
    {
        Error = error;
        ErrorDescription = errorDescription;
        TokenEndpoint = tokenEndpoint;
    }

    /// <summary>
    /// The OAuth error code (RFC 6749 §5.2) such as <c>invalid_client</c>, or one of SecureComms' own:
    /// <c>server_unavailable</c>, <c>invalid_response</c>, <c>discovery_failed</c>, <c>circuit_open</c>,
    /// <c>scope_not_granted</c>; for a JWT-SVID from the Workload API (<see cref="AccessTokenSource.JwtSvid"/>),
    /// <c>server_unavailable</c>, <c>permission_denied</c> (no identity registered for this workload) or
    /// <c>invalid_response</c>. During the failure back-off a call gets the last failure's code without a request being
    /// sent; its <see cref="ErrorDescription"/> then ends with <c>[no request sent: …]</c>.
    /// </summary>
    public string Error { get; }

    /// <summary>The server's <c>error_description</c>, when given.</summary>
    public string? ErrorDescription { get; }

    /// <summary>The token endpoint that was called, when known.</summary>
    public Uri? TokenEndpoint { get; }

    private static string Describe(string error, string? description, Uri? endpoint) =>
        $"No access token from {endpoint?.ToString() ?? "the authorization server"}: {error}" + (description is null ? "." : $" ({description}).");
}
