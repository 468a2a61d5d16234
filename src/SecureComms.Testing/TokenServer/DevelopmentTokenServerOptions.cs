using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SecureComms.Testing;

/// <summary>Settings of a <see cref="DevelopmentTokenServer"/>. Development and tests only.</summary>
public sealed class DevelopmentTokenServerOptions
{
    /// <summary>The server's own SVID, e.g. for <c>spiffe://example.org/token-server</c>. Required.</summary>
    public required WorkloadCertificate ServerCertificate { get; init; }

    /// <summary>The bundle that <c>tls_client_auth</c> client certificates must chain to. Required.</summary>
    public required TrustBundle ClientTrust { get; init; }

    /// <summary>The clock for token times and assertion checks. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Lifetime of issued access tokens. Default 5 minutes.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether issued access tokens carry <c>nbf</c>. Default true. RFC 9068 §2.2 does not require it, and some servers
    /// (node-oidc-provider) never send it: set false to test a resource server against such tokens.
    /// </summary>
    public bool IncludeNotBefore { get; init; } = true;

    /// <summary>Whether issued access tokens carry <c>iat</c> (RFC 9068 §2.2 requires it; false tests tolerance). Default true.</summary>
    public bool IncludeIssuedAt { get; init; } = true;

    /// <summary>Registered clients. Default none.</summary>
    public IList<DevelopmentClient> Clients { get; init; } = [];

    /// <summary>Port on 127.0.0.1; 0 (default) picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// A TLS certificate presented instead of <see cref="ServerCertificate"/>, e.g. one issued by an internal CA for a
    /// host name (not an SVID), to test clients that trust such a server by a CA file. Default none.
    /// </summary>
    public SslStreamCertificateContext? TlsCertificate { get; init; }

    /// <summary>The host name in the issuer and endpoint URLs (the server listens on 127.0.0.1 whatever it is). Default <c>127.0.0.1</c>.</summary>
    public string HostName { get; init; } = "127.0.0.1";

    /// <summary>
    /// Awaited before each token request is answered (after <see cref="DevelopmentTokenServer.EnqueueFailures"/>): lets a
    /// test hold the server, e.g. on a <see cref="TaskCompletionSource"/>, to see what clients do meanwhile. Default none.
    /// </summary>
    public Func<CancellationToken, Task>? BeforeTokenResponse { get; init; }

    /// <summary>Where the server logs (requests refused and why). Default: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>A client registered at a <see cref="DevelopmentTokenServer"/>.</summary>
public sealed class DevelopmentClient
{
    /// <summary>The client identifier. Required.</summary>
    public required string ClientId { get; init; }

    /// <summary>How the client authenticates. Default <see cref="TokenClientAuthentication.TlsClientAuth"/>.</summary>
    public TokenClientAuthentication Authentication { get; init; } = TokenClientAuthentication.TlsClientAuth;

    /// <summary>For <c>tls_client_auth</c>: the SPIFFE ID the presented SVID must carry (RFC 8705 §2.1.2 <c>tls_client_auth_san_uri</c>).</summary>
    public SpiffeId TlsClientAuthSanUri { get; init; }

    /// <summary>
    /// For <c>self_signed_tls_client_auth</c>, the certificate the client must present (matched by SHA-256); for
    /// <c>private_key_jwt</c>, the certificate whose public key verifies the client assertion.
    /// </summary>
    public X509Certificate2? RegisteredCertificate { get; init; }

    /// <summary>Scopes the client may be granted. Default none.</summary>
    public IList<string> AllowedScopes { get; init; } = [];

    /// <summary>
    /// Requested scopes outside <see cref="AllowedScopes"/> are left out of the token and of the response's
    /// <c>scope</c> (RFC 6749 §3.3) instead of refused with <c>invalid_scope</c>, as node-oidc-provider does. Default false.
    /// </summary>
    public bool DropsUnknownScopes { get; init; }

    /// <summary>Resource indicators (RFC 8707) / audiences the client may get tokens for; the first is the default.</summary>
    public IList<string> AllowedResources { get; init; } = [];

    /// <summary>
    /// Whether the token endpoint issues this client opaque access tokens (random strings, to be validated by RFC 7662
    /// introspection at <see cref="DevelopmentTokenServer.IntrospectionEndpoint"/>) instead of JWTs. Default false.
    /// </summary>
    public bool OpaqueAccessTokens { get; init; }

    /// <summary>
    /// Token exchange (RFC 8693): the audiences of subject tokens this client may exchange, i.e. the resource
    /// identifiers of the APIs it serves. Default none: the client may not exchange tokens.
    /// </summary>
    public IList<string> ExchangeableAudiences { get; init; } = [];
}
