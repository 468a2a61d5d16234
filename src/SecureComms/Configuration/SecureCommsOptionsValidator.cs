using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Validates <see cref="SecureCommsOptions"/> at start-up and reports every problem at once, each naming the
/// configuration key to fix.
/// </summary>
internal sealed class SecureCommsOptionsValidator : IValidateOptions<SecureCommsOptions>
{
    private const string Prefix = SecureCommsOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, SecureCommsOptions options)
    {
        var errors = new List<string>();
        ValidateCertificate(options, errors);
        ValidateTrustBundles(options, errors);
        if (options.FilePollingInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Prefix}FilePollingInterval must be at least 00:00:01 (it is {options.FilePollingInterval}).");
        }

        if (options.Health.CertificateExpiryWarning < TimeSpan.Zero)
        {
            errors.Add($"{Prefix}Health:CertificateExpiryWarning must not be negative (it is {options.Health.CertificateExpiryWarning}).");
        }

        foreach ((string clientName, SecureClientOptions client) in options.Clients)
        {
            ValidateClient(clientName, client, errors);
        }

        ValidateUserContextTrust(options.UserContext, errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateCertificate(SecureCommsOptions options, List<string> errors)
    {
        if (options.HasCustomCertificateSource)
        {
            return;
        }

        const string Key = Prefix + "Certificate:";
        WorkloadCertificateOptions certificate = options.Certificate;
        int forms = (certificate.CertificatePath is not null || certificate.KeyPath is not null ? 1 : 0)
            + (certificate.Pkcs12Path is not null ? 1 : 0)
            + (certificate.StoreThumbprint is not null ? 1 : 0);
        if (forms == 0)
        {
            errors.Add($"{Key}CertificatePath and {Key}KeyPath are required: the workload's X.509-SVID and its private key as PEM files (or set {Key}Pkcs12Path, or {Key}StoreThumbprint).");
            return;
        }

        if (forms > 1)
        {
            errors.Add($"{Key}: configure exactly one of CertificatePath+KeyPath, Pkcs12Path or StoreThumbprint.");
            return;
        }

        if (certificate.CertificatePath is not null || certificate.KeyPath is not null)
        {
            RequireFile(Key + "CertificatePath", certificate.CertificatePath, errors);
            RequireFile(Key + "KeyPath", certificate.KeyPath, errors);
        }
        else if (certificate.Pkcs12Path is not null)
        {
            RequireFile(Key + "Pkcs12Path", certificate.Pkcs12Path, errors);
        }
        else
        {
            if (!Enum.TryParse<System.Security.Cryptography.X509Certificates.StoreLocation>(certificate.StoreLocation, ignoreCase: true, out _))
            {
                errors.Add($"{Key}StoreLocation '{certificate.StoreLocation}' is not CurrentUser or LocalMachine.");
            }

            if (string.IsNullOrWhiteSpace(certificate.StoreName))
            {
                errors.Add($"{Key}StoreName is empty.");
            }
        }
    }

    private static void ValidateTrustBundles(SecureCommsOptions options, List<string> errors)
    {
        if (options.HasCustomTrustBundleSource)
        {
            return;
        }

        if (options.TrustBundles.Count == 0)
        {
            errors.Add($"{Prefix}TrustBundles is empty: add at least your own trust domain, e.g. {Prefix}TrustBundles:example.org:Path=/etc/spiffe/bundle.pem. Without a bundle no peer can be trusted.");
            return;
        }

        foreach ((string trustDomain, TrustBundleOptions bundle) in options.TrustBundles)
        {
            string key = $"{Prefix}TrustBundles:{trustDomain}";
            if (!TrustDomain.TryParse(trustDomain, out _, out string? error) || trustDomain.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{key}: '{trustDomain}' is not a trust domain name: {error ?? "use the bare name, e.g. example.org."}");
            }

            RequireFile(key + ":Path", bundle.Path, errors);
            if (!Enum.IsDefined(bundle.Format))
            {
                errors.Add($"{key}:Format must be Pem or SpiffeBundle.");
            }
        }
    }

    private static void ValidateClient(string name, SecureClientOptions client, List<string> errors)
    {
        string key = $"{Prefix}Clients:{name}";
        if (client.BaseAddress is { } address && (!address.IsAbsoluteUri || address.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key}:BaseAddress '{address}' must be an absolute https:// address: SecureComms never sends plaintext.");
        }

        if (client.ExpectedServerAuthorizer is null)
        {
            if (string.IsNullOrWhiteSpace(client.ExpectedServer))
            {
                errors.Add($"{key}:ExpectedServer is required: the SPIFFE ID (or pattern such as spiffe://example.org/billing/*) the server must present.");
            }
            else if (!SpiffeIdAuthorizer.TryParse(client.ExpectedServer, out _, out string? error))
            {
                errors.Add($"{key}:ExpectedServer '{client.ExpectedServer}' is not a SPIFFE ID pattern: {error}");
            }
        }

        if (client.Token is { } token)
        {
            ValidateToken(key + ":Token", token, errors);
        }

        if (client.UserContext is { } userContext)
        {
            ValidateClientUserContext(key + ":UserContext", client, userContext, errors);
        }

        if (client.RotationDrainTime < TimeSpan.Zero)
        {
            errors.Add($"{key}:RotationDrainTime cannot be negative.");
        }

        if (client.PooledConnectionLifetime <= TimeSpan.Zero)
        {
            errors.Add($"{key}:PooledConnectionLifetime must be positive.");
        }

        if (client.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:ConnectTimeout must be positive.");
        }
    }

    private static void ValidateClientUserContext(string key, SecureClientOptions client, ClientUserContextOptions userContext, List<string> errors)
    {
        if (!Enum.IsDefined(userContext.Mode))
        {
            errors.Add($"{key}:Mode must be None, Mint or Forward.");
            return;
        }

        if (userContext.Mode == UserContextMode.None)
        {
            return;
        }

        if (userContext.Lifetime <= TimeSpan.Zero || userContext.Lifetime > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{key}:Lifetime must be more than zero and at most 00:10:00 (it is {userContext.Lifetime}): a user context is short-lived.");
        }

        if (userContext.Audience is { Length: > 0 } audience)
        {
            if (!SpiffeId.TryParse(audience, out SpiffeId id, out string? error) || id.IsTrustDomainId)
            {
                errors.Add($"{key}:Audience '{audience}' must be the receiver's SPIFFE ID: {error ?? "it names a trust domain, not a workload."}");
            }
        }
        else if (UserContextHandler.EffectiveAudience(client) is null)
        {
            errors.Add($"{key}:Audience is required: ExpectedServer is a pattern, and a user context is addressed to one receiver's SPIFFE ID.");
        }

        foreach (string claim in userContext.Claims)
        {
            if (string.IsNullOrWhiteSpace(claim) || claim is "iss" or "aud" or "exp" or "nbf" or "iat" or "jti" or "act" or UserContextMinter.WrappedClaim)
            {
                errors.Add($"{key}:Claims has '{claim}', which is empty or a protocol claim SecureComms sets itself.");
            }
        }
    }

    private static void ValidateUserContextTrust(UserContextTrustOptions trust, List<string> errors)
    {
        string key = Prefix + "UserContext";
        foreach ((string list, IList<string> patterns) in new[] { ("TrustedGateways", trust.TrustedGateways), ("TrustedForwarders", trust.TrustedForwarders) })
        {
            for (int i = 0; i < patterns.Count; i++)
            {
                if (patterns[i] == "*")
                {
                    errors.Add($"{key}:{list}:{i} is '*': name the workloads; '*' would let any workload speak for any user.");
                }
                else if (!SpiffeIdAuthorizer.TryParse(patterns[i], out _, out string? error))
                {
                    errors.Add($"{key}:{list}:{i} '{patterns[i]}' is not a SPIFFE ID pattern: {error}");
                }
            }
        }

        if (trust.TrustedForwarders.Count > 0 && trust.TrustedGateways.Count == 0)
        {
            errors.Add($"{key}:TrustedForwarders is set but TrustedGateways is empty: name the gateways that may originate a user context.");
        }

        if (trust.MaxLifetime <= TimeSpan.Zero || trust.MaxLifetime > TimeSpan.FromHours(1))
        {
            errors.Add($"{key}:MaxLifetime must be more than zero and at most 01:00:00 (it is {trust.MaxLifetime}).");
        }

        if (trust.MaxChainLength is < 1 or > 16)
        {
            errors.Add($"{key}:MaxChainLength must be between 1 and 16 (it is {trust.MaxChainLength}).");
        }

        if (trust.ClockSkew < TimeSpan.Zero || trust.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{key}:ClockSkew must be between 00:00:00 and 00:05:00 (it is {trust.ClockSkew}).");
        }

        if (trust.MaxHeaderLength is < 1024 or > 65_536)
        {
            errors.Add($"{key}:MaxHeaderLength must be between 1024 and 65536 (it is {trust.MaxHeaderLength}).");
        }
    }

    private static void ValidateToken(string key, AccessTokenOptions token, List<string> errors)
    {
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

    private static void RequireFile(string key, string? path, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{key} is required.");
        }
        else if (!File.Exists(path))
        {
            errors.Add($"{key}: the file '{path}' does not exist (as seen from '{Directory.GetCurrentDirectory()}').");
        }
    }
}
