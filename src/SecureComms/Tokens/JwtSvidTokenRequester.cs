using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms;

/// <summary>
/// Fetches a JWT-SVID for the configured audience from the SPIFFE Workload API (<c>FetchJWTSVID</c>) as a client's
/// bearer token (<see cref="AccessTokenSource.JwtSvid"/>). <see cref="CertificateBoundTokenProvider"/> caches it and
/// renews it ahead of expiry like an OAuth token; a failure becomes a <see cref="TokenAcquisitionException"/>, so the
/// request is not sent (fail closed).
/// </summary>
/// <remarks>
/// The agent is trusted to sign correctly (the workload cannot check its own token against anything better), but the
/// response is still read before it is used: a JWT-SVID without <c>exp</c>, already expired, for another audience or
/// naming no SPIFFE ID would only be refused by the receiver, so it is refused here with a clear error instead.
/// </remarks>
internal sealed class JwtSvidTokenRequester : ITokenRequester
{
    private readonly string _clientName;
    private readonly AccessTokenOptions _options;
    private readonly Func<WorkloadApiConnection> _connection;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string[] _audiences;

    /// <param name="clientName">The outbound client, for logs.</param>
    /// <param name="options">Its token settings (<see cref="AccessTokenOptions.Audience"/>, <see cref="AccessTokenOptions.SpiffeId"/>, limits).</param>
    /// <param name="address">The Workload API address, for errors and spans.</param>
    /// <param name="connection">The shared Workload API connection, created on the first request.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="logger">Where fetches are logged (never the token).</param>
    public JwtSvidTokenRequester(string clientName, AccessTokenOptions options, Uri address, Func<WorkloadApiConnection> connection, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clientName = clientName;
        _options = options;
        _connection = connection;
        _timeProvider = timeProvider;
        _logger = logger;
        _audiences = [options.Audience ?? throw new ArgumentException("A JWT-SVID needs an audience.", nameof(options))];
        KnownTokenEndpoint = address;
    }

    /// <summary>The Workload API address.</summary>
    public Uri KnownTokenEndpoint { get; }

    Uri? ITokenRequester.KnownTokenEndpoint => KnownTokenEndpoint;

    public Task<Uri> GetTokenEndpointAsync(CancellationToken cancellationToken) => Task.FromResult(KnownTokenEndpoint);

    public async Task<AccessToken> RequestTokenAsync(Uri endpoint, WorkloadCertificate certificate, CancellationToken cancellationToken, string? subjectToken = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (subjectToken is not null)
        {
            throw new TokenAcquisitionException("invalid_request", "a JWT-SVID cannot be exchanged: Source = JwtSvid takes no GrantType.", KnownTokenEndpoint);
        }

        JWTSVIDResponse response;
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            response = await _connection().FetchJwtSvidAsync(_audiences, _options.SpiffeId, linked.Token).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
        {
            // SPIFFE Workload API §5.2: no identity is registered for this workload.
            throw Fail("permission_denied", $"the Workload API has no identity for this workload ({ex.Status.Detail}).", ex);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && timeout.IsCancellationRequested || ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw Fail("server_unavailable", $"the Workload API did not answer within {_options.AttemptTimeout} (Token:AttemptTimeout).", ex);
        }
        catch (RpcException ex)
        {
            throw Fail("server_unavailable", $"the Workload API call failed: {ex.StatusCode} {ex.Status.Detail}", ex);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Fail("server_unavailable", $"the Workload API did not answer within {_options.AttemptTimeout} (Token:AttemptTimeout).", ex);
        }

        JWTSVID? chosen = null;
        foreach (JWTSVID svid in response.Svids)
        {
            if (_options.SpiffeId is null || string.Equals(svid.SpiffeId, _options.SpiffeId, StringComparison.Ordinal))
            {
                chosen = svid;
                break;
            }
        }

        if (chosen is null)
        {
            throw Fail("invalid_response", _options.SpiffeId is null
                ? "the Workload API returned no JWT-SVID."
                : $"the Workload API returned no JWT-SVID for {_options.SpiffeId} (Token:SpiffeId).");
        }

        DateTimeOffset now = _timeProvider.GetUtcNow();
        if (Read(chosen, now) is { } problem)
        {
            throw Fail("invalid_response", problem);
        }

        var jwt = new JsonWebToken(chosen.Svid);
        DateTimeOffset expiresAt = new(jwt.ValidTo, TimeSpan.Zero);
        JwtSvidLog.Fetched(_logger, _clientName, chosen.SpiffeId, _audiences[0], expiresAt);
        return new AccessToken(chosen.Svid, "Bearer", now, expiresAt, scope: null, certificate);
    }

    /// <summary>Null when <paramref name="svid"/> is usable now, else what is wrong with it (never its content).</summary>
    private string? Read(JWTSVID svid, DateTimeOffset now)
    {
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(svid.Svid);
        }
#pragma warning disable CA1031 // any unreadable token is the same invalid response
        catch (Exception)
#pragma warning restore CA1031
        {
            return "the JWT-SVID cannot be read as a JWT.";
        }

        // JWT-SVID §3: sub is the workload's SPIFFE ID, aud holds the audience, exp is required.
        if (!SpiffeId.TryParse(jwt.Subject, out SpiffeId subject) || !string.Equals(subject.ToString(), svid.SpiffeId, StringComparison.Ordinal))
        {
            return "the JWT-SVID's sub is not the SPIFFE ID the Workload API gave for it.";
        }

        bool audience = false;
        foreach (string aud in jwt.Audiences)
        {
            audience |= string.Equals(aud, _audiences[0], StringComparison.Ordinal);
        }

        if (!audience)
        {
            return $"the JWT-SVID is not for audience '{_audiences[0]}'.";
        }

        if (!jwt.TryGetPayloadValue("exp", out long _))
        {
            return "the JWT-SVID has no exp.";
        }

        DateTimeOffset expiresAt = new(jwt.ValidTo, TimeSpan.Zero);
        if (expiresAt <= now)
        {
            return $"the JWT-SVID expired at {expiresAt:O}.";
        }

        return expiresAt - now > _options.MaxTokenLifetime
            ? $"the JWT-SVID claims a lifetime longer than Token:MaxTokenLifetime ({_options.MaxTokenLifetime})."
            : null;
    }

    private TokenAcquisitionException Fail(string error, string description, Exception? inner = null) =>
        new(error, description, KnownTokenEndpoint, inner);

    public void Dispose()
    {
        // The connection is shared (one per process): the container disposes it.
    }
}
