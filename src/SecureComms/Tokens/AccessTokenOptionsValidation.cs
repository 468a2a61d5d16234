namespace SecureComms;

/// <summary>
/// The start-up rules of <see cref="AccessTokenOptions"/>: one way to find the token endpoint, https only, a client ID,
/// a readable internal CA bundle, and sane back-off, retry and circuit-breaker settings.
/// </summary>
internal static class AccessTokenOptionsValidation
{
    /// <summary>Adds every problem of <paramref name="token"/> to <paramref name="errors"/>.</summary>
    /// <param name="key">The options' configuration key, e.g. <c>SecureComms:Clients:billing:Token</c>.</param>
    /// <param name="token">The options to check.</param>
    /// <param name="errors">Receives one message per problem, each naming the key to fix.</param>
    internal static void Validate(string key, AccessTokenOptions token, List<string> errors)
    {
        if (token.Source == AccessTokenSource.JwtSvid)
        {
            ValidateJwtSvid(key, token, errors);
            return;
        }

        if (!Enum.IsDefined(token.Source))
        {
            errors.Add($"{key}:Source must be TokenEndpoint or JwtSvid.");
        }

        if (token.SpiffeId is not null)
        {
            errors.Add($"{key}:SpiffeId applies only with {key}:Source = JwtSvid.");
        }

        if (!Enum.IsDefined(token.GrantType))
        {
            errors.Add($"{key}:GrantType must be ClientCredentials or TokenExchange.");
        }

        if ((token.Authority is null) == (token.TokenEndpoint is null))
        {
            errors.Add($"{key}: set exactly one of Authority (metadata discovery) or TokenEndpoint.");
        }

        foreach ((string name, Uri? uri) in new[] { ("Authority", token.Authority), ("TokenEndpoint", token.TokenEndpoint) })
        {
            if (uri is not null && (!uri.IsAbsoluteUri || uri.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{key}:{name} '{uri}' must be an absolute https:// address.");
            }
        }

        if (string.IsNullOrWhiteSpace(token.ClientId))
        {
            errors.Add($"{key}:ClientId is required (RFC 8705 §2: client_id is always sent).");
        }

        if (!Enum.IsDefined(token.ClientAuthentication))
        {
            errors.Add($"{key}:ClientAuthentication must be TlsClientAuth, SelfSignedTlsClientAuth or PrivateKeyJwt.");
        }

        if (token.Resource is { IsAbsoluteUri: false })
        {
            errors.Add($"{key}:Resource must be an absolute URI (RFC 8707 §2).");
        }

        if (token.ExpectedServer is not null && !SpiffeIdAuthorizer.TryParse(token.ExpectedServer, out _, out string? error))
        {
            errors.Add($"{key}:ExpectedServer '{token.ExpectedServer}' is not a SPIFFE ID pattern: {error}");
        }

        if (token.ServerCaBundlePath is not null)
        {
            if (token.ExpectedServer is not null)
            {
                errors.Add($"{key}:ServerCaBundlePath and {key}:ExpectedServer are both set: the authorization server is either a SPIFFE workload (ExpectedServer) or an HTTPS server with a certificate of an internal CA (ServerCaBundlePath).");
            }

            if (!ServerCaBundle.TryLoad(token.ServerCaBundlePath, out _, out string? bundleError))
            {
                errors.Add($"{key}:ServerCaBundlePath: {bundleError}");
            }
        }

        if (!Enum.IsDefined(token.ScopeMismatch))
        {
            errors.Add($"{key}:ScopeMismatch must be Fail or Warn.");
        }

        ValidateTiming(key, token, errors);
    }

    /// <summary>
    /// A JWT-SVID from the Workload API (SPIFFE JWT-SVID §3): an audience, and none of the settings that only an OAuth
    /// token endpoint would use, so that a half-converted configuration fails instead of being silently ignored.
    /// </summary>
    private static void ValidateJwtSvid(string key, AccessTokenOptions token, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(token.Audience))
        {
            errors.Add($"{key}:Audience is required with {key}:Source = JwtSvid: the audience the JWT-SVID is issued for (the receiver's TokenValidation:JwtSvidAudience).");
        }

        if (token.SpiffeId is not null && !SecureComms.SpiffeId.TryParse(token.SpiffeId, out _))
        {
            errors.Add($"{key}:SpiffeId '{token.SpiffeId}' is not a SPIFFE ID (spiffe://trust-domain/path).");
        }

        var notAllowed = new List<string>();
        AddIf(notAllowed, token.Authority is not null, "Authority");
        AddIf(notAllowed, token.TokenEndpoint is not null, "TokenEndpoint");
        AddIf(notAllowed, token.ClientId is not null, "ClientId");
        AddIf(notAllowed, token.ClientAuthentication != TokenClientAuthentication.TlsClientAuth, "ClientAuthentication");
        AddIf(notAllowed, token.GrantType != TokenGrantType.ClientCredentials, "GrantType");
        AddIf(notAllowed, token.Scope is not null, "Scope");
        AddIf(notAllowed, token.Resource is not null, "Resource");
        AddIf(notAllowed, token.ExpectedServer is not null, "ExpectedServer");
        AddIf(notAllowed, token.ServerCaBundlePath is not null, "ServerCaBundlePath");
        if (notAllowed.Count > 0)
        {
            errors.Add($"{key}:Source = JwtSvid takes its tokens from the SPIFFE Workload API, not a token endpoint: remove {string.Join(", ", notAllowed.ConvertAll(name => key + ":" + name))}.");
        }

        ValidateTiming(key, token, errors);
    }

    private static void AddIf(List<string> names, bool condition, string name)
    {
        if (condition)
        {
            names.Add(name);
        }
    }

    private static void ValidateTiming(string key, AccessTokenOptions token, List<string> errors)
    {
        if (token.FailureBackoff < TimeSpan.Zero || token.MaxFailureBackoff < token.FailureBackoff)
        {
            errors.Add($"{key}: FailureBackoff cannot be negative and MaxFailureBackoff must be at least FailureBackoff (they are {token.FailureBackoff} and {token.MaxFailureBackoff}).");
        }

        if (token.RefreshBeforeExpiry is { } refresh && refresh < TimeSpan.Zero)
        {
            errors.Add($"{key}:RefreshBeforeExpiry cannot be negative.");
        }

        if (token.MaxTokenLifetime <= TimeSpan.Zero)
        {
            errors.Add($"{key}:MaxTokenLifetime must be positive.");
        }

        if (token.MaxRetries is < 0 or > 10)
        {
            errors.Add($"{key}:MaxRetries must be between 0 and 10.");
        }

        if (token.RetryBaseDelay < TimeSpan.Zero || token.AttemptTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}: RetryBaseDelay cannot be negative and AttemptTimeout must be positive.");
        }

        if (token.CircuitBreakerFailureRatio is <= 0 or > 1 || token.CircuitBreakerSamplingDuration < TimeSpan.FromMilliseconds(500) || token.CircuitBreakerBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"{key}: CircuitBreakerFailureRatio must be in (0, 1], and the sampling and break durations at least 00:00:00.5.");
        }
    }
}
