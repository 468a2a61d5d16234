using Microsoft.Extensions.Logging;

namespace SecureComms.Testing;

/// <summary>Options of a <see cref="DevelopmentWorkloadApiServer"/>.</summary>
public sealed class DevelopmentWorkloadApiServerOptions
{
    /// <summary>
    /// The authority that issues the served X.509-SVIDs; its root is the bundle of its trust domain. Servers sharing one
    /// authority serve one trust domain. Required; the server does not dispose it.
    /// </summary>
    public required DevelopmentCertificateAuthority Authority { get; init; }

    /// <summary>The SPIFFE ID served to every caller; must belong to the authority's trust domain. Required.</summary>
    public required SpiffeId SpiffeId { get; init; }

    /// <summary>
    /// The Unix domain socket to listen on (an absolute path, shorter than 108 bytes). Default: a fresh
    /// <c>sc-xxxxxxxx.sock</c> in the temporary directory.
    /// </summary>
    public string? SocketPath { get; init; }

    /// <summary>
    /// Also listen on plain TCP (HTTP/2 without TLS) on 127.0.0.1 at this port; 0 picks a free port. Default
    /// <see langword="null"/>: Unix socket only.
    /// </summary>
    public int? TcpPort { get; init; }

    /// <summary>How long each issued X.509-SVID is valid. Default one hour.</summary>
    public TimeSpan SvidLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Issue and push a new X.509-SVID this often, timed by <see cref="TimeProvider"/>. Default <see langword="null"/>:
    /// only <see cref="DevelopmentWorkloadApiServer.RotateAsync"/> rotates.
    /// </summary>
    public TimeSpan? RotateEvery { get; init; }

    /// <summary>The <c>hint</c> sent with every SVID (no security meaning). Default <see langword="null"/>: none.</summary>
    public string? Hint { get; init; }

    /// <summary>The clock for JWT-SVID times and automatic rotation. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>How long each JWT-SVID is valid. Default five minutes.</summary>
    public TimeSpan JwtSvidLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Where the server logs (never a key). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The keys that sign JWT-SVIDs; share one instance between servers of one trust domain. Default: a new set owned
    /// (and disposed) by the server.
    /// </summary>
    public DevelopmentJwtSigningKeys? JwtSigningKeys { get; init; }
}
