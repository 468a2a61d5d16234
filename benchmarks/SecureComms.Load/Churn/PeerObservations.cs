using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace SecureComms.Load.Churn;

/// <summary>
/// The churn server's <c>GET /work</c>: answers as the other modes do, and records when a request that SecureComms let
/// through first arrived on a connection presenting a given server certificate, on one presenting a given client
/// certificate, and with a token signed by a given key (<c>kid</c>). Certificates are read once per connection and a
/// token's header once per connection and token, so a request pays one dictionary lookup and a string comparison.
/// It also counts the connections that carried requests, by the second of their first request (the handshakes a dip
/// may line up with).
/// </summary>
internal sealed class PeerObservations(RunClock clock, TimeSpan longest)
{
    private readonly ConcurrentDictionary<string, SeenOnConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _firstSeen = new(StringComparer.Ordinal);
    private readonly int[] _newConnections = new int[(int)Math.Ceiling(longest.TotalSeconds) + 1];

    /// <summary>Connections whose first request arrived in each second of the run, up to <paramref name="end"/> (exclusive).</summary>
    public int[] NewConnectionsPerSecond(TimeSpan end)
    {
        int[] seconds = new int[Math.Min(_newConnections.Length, (int)end.TotalSeconds)];
        for (int i = 0; i < seconds.Length; i++)
        {
            seconds[i] = Volatile.Read(ref _newConnections[i]);
        }

        return seconds;
    }

    /// <summary>When a request first arrived on a connection where the server presented <paramref name="certificate"/>.</summary>
    public TimeSpan? ServerCertificateSeen(X509Certificate2 certificate) => FirstSeen("server " + certificate.Thumbprint);

    /// <summary>When a request first arrived on a connection where the client presented <paramref name="certificate"/>.</summary>
    public TimeSpan? ClientCertificateSeen(X509Certificate2 certificate) => FirstSeen("client " + certificate.Thumbprint);

    /// <summary>When a request first arrived with a token signed by the key <paramref name="kid"/>.</summary>
    public TimeSpan? SigningKeySeen(string kid) => FirstSeen("kid " + kid);

    public string Observe(HttpContext context)
    {
        SeenOnConnection connection = _connections.GetOrAdd(context.Connection.Id, static (_, state) => state.Self.NewConnection(state.Context), (Self: this, Context: context));
        string authorization = context.Request.Headers.Authorization.ToString();
        if (!ReferenceEquals(authorization, connection.LastAuthorization) && authorization != connection.LastAuthorization)
        {
            connection.LastAuthorization = authorization;
            if (KeyId(authorization) is { } kid)
            {
                Record("kid " + kid);
            }
        }

        return LoadServers.Body;
    }

    private SeenOnConnection NewConnection(HttpContext context)
    {
        Interlocked.Increment(ref _newConnections[Math.Min(_newConnections.Length - 1, (int)clock.Elapsed.TotalSeconds)]);
        if (context.Features.Get<ISslStreamFeature>()?.SslStream.LocalCertificate is X509Certificate2 server)
        {
            Record("server " + server.Thumbprint);
        }

        if (context.Connection.ClientCertificate is { } client)
        {
            Record("client " + client.Thumbprint);
        }

        return new SeenOnConnection();
    }

    private void Record(string what) => _firstSeen.TryAdd(what, clock.Elapsed);

    private TimeSpan? FirstSeen(string what) => _firstSeen.TryGetValue(what, out TimeSpan at) ? at : null;

    /// <summary>The <c>kid</c> in the JOSE header of a <c>Bearer</c> JWT (RFC 7515 §4.1.4); null when there is none.</summary>
    private static string? KeyId(string authorization)
    {
        const string Scheme = "Bearer ";
        int dot = authorization.IndexOf('.', StringComparison.Ordinal);
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || dot < Scheme.Length)
        {
            return null;
        }

        byte[] header = Base64Url.DecodeFromChars(authorization.AsSpan(Scheme.Length, dot - Scheme.Length));
        using var json = JsonDocument.Parse(header);
        return json.RootElement.TryGetProperty("kid", out JsonElement kid) ? kid.GetString() : null;
    }

    /// <summary>What one connection last carried (requests on one HTTP/2 connection may race here: the worst is one more parse).</summary>
    private sealed class SeenOnConnection
    {
        public string? LastAuthorization { get; set; }
    }
}
