using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace SecureComms;

/// <summary>
/// Validates opaque access tokens by RFC 7662 introspection at the authorization server, over mutual TLS with this
/// service's own SVID (<c>tls_client_auth</c>, RFC 8705 §2.1) and the server checked as the metadata and JWKS calls
/// check it. An active answer must carry <c>exp</c> and name this service in <c>aud</c>; its <c>cnf.x5t#S256</c>
/// (RFC 8705 §3.2) is compared with the caller's certificate by the authentication handler on every request, cached
/// or not. Answers are remembered by token hash (<see cref="IntrospectionCache"/>); an endpoint that is down, slow or
/// answers nonsense refuses the token (fail closed), it never makes the request fail with a 500 or hang.
/// </summary>
internal sealed class TokenIntrospector : IDisposable
{
    /// <summary>The authentication type of an introspected token's claims identity.</summary>
    internal const string AuthenticationType = "SecureComms.Introspection";

    private const long MaxResponseBytes = 64 * 1024;

    private readonly SecureCommsIntrospectionOptions _settings;
    private readonly string _audience;
    private readonly string _issuer;
    private readonly TimeSpan _clockSkew;
    private readonly Uri _authority;
    private readonly HttpClient _http;
    private readonly IOptionsMonitor<JwtBearerOptions> _jwtBearer;
    private readonly TimeProvider _time;
    private readonly SecureCommsServerMetrics _metrics;
    private readonly ILogger _logger;
    private Uri? _endpoint;
    private int _calls;

    public TokenIntrospector(
        IOptions<SecureCommsTokenValidationOptions> options,
        ICertificateSource certificates,
        PeerCertificateValidator validator,
        IOptionsMonitor<JwtBearerOptions> jwtBearer,
        TimeProvider timeProvider,
        SecureCommsServerMetrics metrics,
        ILoggerFactory loggerFactory)
    {
        SecureCommsTokenValidationOptions tokens = options.Value;
        _settings = tokens.Introspection;
        _authority = tokens.Authority ?? throw new InvalidOperationException("Introspection requires SecureComms:TokenValidation:Authority.");
        _audience = tokens.Audience!;
        _issuer = (tokens.Issuer ?? _authority.ToString()).TrimEnd('/');
        _clockSkew = tokens.ClockSkew;
        _endpoint = _settings.Endpoint;
        _jwtBearer = jwtBearer;
        _time = timeProvider;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("SecureComms.TokenValidation");
        Cache = new IntrospectionCache(_settings.MaxCacheEntries);

        // The same client set-up as the metadata and JWKS calls: this service's SVID as client certificate, the server
        // checked by its SPIFFE ID or by the internal CA file.
        var handler = new MtlsClientHandler(
            "token validation (introspection)",
            new SecureClientOptions(),
            tokens.ExpectedServer is null ? null : SpiffeIdAuthorizer.Parse(tokens.ExpectedServer),
            certificates,
            validator,
            timeProvider,
            loggerFactory.CreateLogger("SecureComms.Client"),
            serverCaBundle: tokens.ServerCaBundlePath is null ? null : ServerCaBundle.Load(SecureCommsOptions.SectionName + ":TokenValidation:ServerCaBundlePath", tokens.ServerCaBundlePath));
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // bounded per call by Introspection:Timeout, on TimeProvider
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
    }

    /// <summary>The answers remembered (for tests and diagnostics).</summary>
    internal IntrospectionCache Cache { get; }

    /// <summary>How many introspection calls were started, successful or not (for tests and diagnostics).</summary>
    internal int Calls => Volatile.Read(ref _calls);

    /// <summary>
    /// Whether a bearer token is opaque, i.e. goes to introspection: it is not in the JWS compact form (exactly three
    /// parts separated by two dots, RFC 7515 §7.1), which the JWT path validates (and refuses when malformed).
    /// </summary>
    public static bool IsOpaque(ReadOnlySpan<char> token) => token.Count('.') != 2;

    /// <summary>
    /// The verdict on an opaque token: remembered, or from one introspection call shared by every request for the same
    /// token meanwhile. <paramref name="token"/> is read only on a cache miss.
    /// </summary>
    public ValueTask<IntrospectionVerdict> ValidateAsync(in Sha256Key digest, ReadOnlySpan<char> token, DateTimeOffset now)
    {
        if (Cache.TryGet(digest, now, out IntrospectionVerdict known))
        {
            return new ValueTask<IntrospectionVerdict>(known);
        }

        // RFC 6750 §2.1 b64token: anything else is no token of any server, and is not sent to one.
        if (!IsB64Token(token))
        {
            return new ValueTask<IntrospectionVerdict>(new IntrospectionVerdict(null, AccessTokenFailure.Malformed));
        }

        string text = token.ToString();
        return new ValueTask<IntrospectionVerdict>(Cache.GetOrIntrospectAsync(digest, () => IntrospectAsync(text), _time));
    }

    public void Dispose() => _http.Dispose();

    private static bool IsB64Token(ReadOnlySpan<char> token)
    {
        int end = token.Length;
        while (end > 0 && token[end - 1] == '=')
        {
            end--;
        }

        if (end == 0)
        {
            return false;
        }

        foreach (char c in token[..end])
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    private async Task<(IntrospectionVerdict Verdict, DateTimeOffset? CacheUntil)> IntrospectAsync(string token)
    {
        Interlocked.Increment(ref _calls);
        string endpointName = _endpoint?.ToString() ?? "(from metadata)";
        try
        {
            using var timeout = new CancellationTokenSource(_settings.Timeout, _time);
            Uri endpoint = _endpoint ?? await DiscoverAsync(timeout.Token).ConfigureAwait(false);
            endpointName = endpoint.ToString();

            // RFC 7662 §2.1: a form POST; RFC 8705 §2: client_id names the client the certificate authenticates.
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
            {
                Content = new FormUrlEncodedContent(
                [
                    new KeyValuePair<string, string>("token", token),
                    new KeyValuePair<string, string>("token_type_hint", "access_token"),
                    new KeyValuePair<string, string>("client_id", _settings.ClientId!),
                ]),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return Failed(endpointName, "HttpStatus", ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture) + OAuthError(body));
            }

            return Decide(endpoint, body);
        }
        catch (OperationCanceledException)
        {
            return Failed(endpointName, "Timeout", $"no answer within {_settings.Timeout}.");
        }
#pragma warning disable CA1031 // any failure to get an answer refuses the token (fail closed), and is logged without the token
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Failed(endpointName, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>The RFC 6749 §5.2 <c>error</c> and <c>error_description</c> of a refused call, for the log; empty when there are none.</summary>
    private static string OAuthError(byte[] body)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                string? description = document.RootElement.TryGetProperty("error_description", out JsonElement text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
                return $" {error.GetString()} {description}".TrimEnd();
            }
        }
        catch (JsonException)
        {
        }

        return string.Empty;
    }

    /// <summary>The endpoint the authority's metadata names: its mTLS alias first (RFC 8705 §5), else <c>introspection_endpoint</c>.</summary>
    private async Task<Uri> DiscoverAsync(CancellationToken cancel)
    {
        OpenIdConnectConfiguration metadata = await _jwtBearer.Get(AccessTokenJwtBearerSetup.Scheme).ConfigurationManager!.GetConfigurationAsync(cancel).ConfigureAwait(false);
        string? named = MtlsAlias(metadata) ?? metadata.IntrospectionEndpoint;
        if (!Uri.TryCreate(named, UriKind.Absolute, out Uri? endpoint) || endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"the metadata of {_authority} names no https introspection_endpoint; set SecureComms:TokenValidation:Introspection:Endpoint.");
        }

        IntrospectionLog.EndpointDiscovered(_logger, endpoint, _authority);
        _endpoint = endpoint;
        return endpoint;
    }

    private static string? MtlsAlias(OpenIdConnectConfiguration metadata)
    {
        if (!metadata.AdditionalData.TryGetValue("mtls_endpoint_aliases", out object? aliases))
        {
            return null;
        }

        return aliases switch
        {
            JsonElement { ValueKind: JsonValueKind.Object } json when json.TryGetProperty("introspection_endpoint", out JsonElement value) && value.ValueKind == JsonValueKind.String => value.GetString(),
            IDictionary<string, object> map when map.TryGetValue("introspection_endpoint", out object? value) => value as string ?? (value as JsonElement?)?.ToString(),
            _ => null,
        };
    }

    /// <summary>RFC 7662 §2.2: the answer, checked as a JWT access token's claims are (RFC 9068 §4).</summary>
    private (IntrospectionVerdict Verdict, DateTimeOffset? CacheUntil) Decide(Uri endpoint, byte[] body)
    {
        DateTimeOffset now = _time.GetUtcNow();
        using JsonDocument document = JsonDocument.Parse(body);
        JsonElement answer = document.RootElement;
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("active", out JsonElement active) || active.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new JsonException("the answer is not a JSON object with a boolean 'active'.");
        }

        if (active.ValueKind == JsonValueKind.False)
        {
            return Refused(endpoint, AccessTokenFailure.Inactive, now);
        }

        // RFC 8705 §3 binds Bearer tokens; another type (DPoP, RFC 9449 §7.2) is not what this service checks.
        if (answer.TryGetProperty("token_type", out JsonElement type) && !(type.ValueKind == JsonValueKind.String && string.Equals(type.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase)))
        {
            return Refused(endpoint, AccessTokenFailure.WrongType, now);
        }

        // exp is required, as for JWT access tokens (RFC 9068 §2.2): without it the answer could be kept for ever.
        if (!answer.TryGetProperty("exp", out JsonElement expElement) || !expElement.TryGetInt64(out long exp) || exp < 0 || exp > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return Refused(endpoint, AccessTokenFailure.WithoutExpiration, now);
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(exp);
        if (expiresAt <= now - _clockSkew)
        {
            return Refused(endpoint, AccessTokenFailure.Expired, now);
        }

        if (answer.TryGetProperty("nbf", out JsonElement nbfElement) && (!nbfElement.TryGetInt64(out long nbf) || DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(nbf, 0, DateTimeOffset.MaxValue.ToUnixTimeSeconds())) > now + _clockSkew))
        {
            return Refused(endpoint, AccessTokenFailure.NotYetValid, now);
        }

        if (answer.TryGetProperty("iss", out JsonElement iss) && !(iss.ValueKind == JsonValueKind.String && string.Equals(iss.GetString()?.TrimEnd('/'), _issuer, StringComparison.Ordinal)))
        {
            return Refused(endpoint, AccessTokenFailure.WrongIssuer, now);
        }

        // aud must name this service: an answer without aud is not a token for it.
        if (!answer.TryGetProperty("aud", out JsonElement aud) || !Names(aud, _audience))
        {
            return Refused(endpoint, AccessTokenFailure.WrongAudience, now);
        }

        bool malformed = !CertificateBinding.TryReadFromPayload(body, out string? bound);
        DateTimeOffset cap = now + _settings.MaxCacheDuration;
        DateTimeOffset holdsUntil = expiresAt < cap ? expiresAt : cap;
        ValidatedAccessToken validated = ValidatedAccessToken.FromIntrospection(Claims(answer), holdsUntil, bound, malformed);
        IntrospectionLog.Active(_logger, endpoint, answer.TryGetProperty("client_id", out JsonElement clientId) && clientId.ValueKind == JsonValueKind.String ? clientId.GetString() : null, expiresAt);
        _metrics.Introspection(SecureCommsTelemetry.Results.Success);
        return (new IntrospectionVerdict(validated, null), holdsUntil);
    }

    private static bool Names(JsonElement aud, string audience)
    {
        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.ValueEquals(audience);
        }

        if (aud.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in aud.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.String && item.ValueEquals(audience))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The answer's members as claims, typed as IdentityModel types a JWT's (strings, integers, booleans, one claim
    /// per array element, objects as JSON), so that <c>RequireScope</c>, the central policy and handlers read an
    /// introspected token as they read a JWT. <c>active</c>, <c>token_type</c> and <c>cnf</c> describe the answer, not
    /// the caller, and are left out.
    /// </summary>
    private Claim[] Claims(JsonElement answer)
    {
        var claims = new List<Claim>();
        foreach (JsonProperty member in answer.EnumerateObject())
        {
            if (member.NameEquals("active") || member.NameEquals("token_type") || member.NameEquals("cnf"))
            {
                continue;
            }

            if (member.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in member.Value.EnumerateArray())
                {
                    AddClaim(claims, member.Name, item);
                }
            }
            else
            {
                AddClaim(claims, member.Name, member.Value);
            }
        }

        return [.. claims];
    }

    private void AddClaim(List<Claim> claims, string type, JsonElement value)
    {
        (string? text, string valueType) = value.ValueKind switch
        {
            JsonValueKind.String => (value.GetString(), ClaimValueTypes.String),
            JsonValueKind.Number => (value.GetRawText(), value.TryGetInt64(out _) ? ClaimValueTypes.Integer64 : ClaimValueTypes.Double),
            JsonValueKind.True => ("true", ClaimValueTypes.Boolean),
            JsonValueKind.False => ("false", ClaimValueTypes.Boolean),
            JsonValueKind.Object or JsonValueKind.Array => (value.GetRawText(), "JSON"),
            _ => (null, ClaimValueTypes.String),
        };
        if (text is not null)
        {
            claims.Add(new Claim(type, text, valueType, _issuer, _issuer, subject: null));
        }
    }

    private (IntrospectionVerdict Verdict, DateTimeOffset? CacheUntil) Refused(Uri endpoint, string reason, DateTimeOffset now)
    {
        IntrospectionLog.Refused(_logger, endpoint, reason);
        _metrics.Introspection(SecureCommsTelemetry.Results.Rejected);
        return (new IntrospectionVerdict(null, reason), now + _settings.NegativeCacheDuration);
    }

    private (IntrospectionVerdict Verdict, DateTimeOffset? CacheUntil) Failed(string endpoint, string errorType, string error)
    {
        IntrospectionLog.Failed(_logger, endpoint, errorType, error);
        _metrics.Introspection(SecureCommsTelemetry.Results.Failed);
        return (new IntrospectionVerdict(null, AccessTokenFailure.IntrospectionUnavailable), null); // never remembered: the next request tries again
    }
}
