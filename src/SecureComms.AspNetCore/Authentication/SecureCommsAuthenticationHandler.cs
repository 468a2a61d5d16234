using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Authenticates the calling workload from the client certificate of the TLS connection. The certificate was
/// validated as an X.509-SVID during the handshake; this handler only looks that verdict up (no chain build per
/// request) and re-checks expiry, since a connection can outlive its certificate.
/// </summary>
internal sealed class SecureCommsAuthenticationHandler : AuthenticationHandler<SecureCommsAuthenticationOptions>
{
    private readonly ServerTlsOptionsProvider _tls;
    private readonly PeerCertificateValidator _validator;
    private readonly TimeProvider _timeProvider;

    public SecureCommsAuthenticationHandler(
        IOptionsMonitor<SecureCommsAuthenticationOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        ServerTlsOptionsProvider tls,
        PeerCertificateValidator validator,
        TimeProvider timeProvider)
        : base(options, logger, encoder)
    {
        _tls = tls;
        _validator = validator;
        _timeProvider = timeProvider;
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        X509Certificate2? certificate = Context.Connection.ClientCertificate;
        if (certificate is null)
        {
            // Plaintext listener opened on purpose: no caller identity.
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!_tls.TryGetHandshakeResult(certificate, out SvidValidationResult? result) || result is null)
        {
            // Not seen in our handshake (should not happen on SecureComms listeners): validate fully.
            result = _validator.Validate(certificate, null, PeerSide.Client);
        }

        if (result.IsValid && _timeProvider.GetUtcNow() > certificate.NotAfter.ToUniversalTime())
        {
            result = SvidValidationResult.Fail(SvidValidationFailure.Expired, "the caller's certificate expired during the connection.", result.SpiffeId);
        }

        if (!result.IsValid)
        {
            ServerLog.PeerRejected(Logger, result.Failure, result.Detail ?? string.Empty);
            return Task.FromResult(AuthenticateResult.Fail($"caller certificate: {result.Failure}"));
        }

        SpiffeId id = result.SpiffeId;
        var identity = new ClaimsIdentity(
            [
                new Claim(SecureCommsClaimTypes.SpiffeId, id.ToString(), ClaimValueTypes.String, id.TrustDomain.Name),
                new Claim(SecureCommsClaimTypes.TrustDomain, id.TrustDomain.Name, ClaimValueTypes.String, id.TrustDomain.Name),
            ],
            SecureCommsDefaults.AuthenticationScheme,
            SecureCommsClaimTypes.SpiffeId,
            ClaimTypes.Role);
        var ticket = new AuthenticationTicket(new ClaimsPrincipal(identity), SecureCommsDefaults.AuthenticationScheme);
        return Task.FromResult(AuthenticateResult.Success(ticket));
    }
}
