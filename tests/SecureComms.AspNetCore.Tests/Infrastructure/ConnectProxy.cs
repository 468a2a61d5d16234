using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A forward proxy on 127.0.0.1 that understands only HTTP CONNECT (RFC 9110 §9.3.6), as a corporate proxy does for
/// https: it records each tunnel's target and copies bytes both ways, never seeing inside the TLS session.
/// </summary>
internal sealed class ConnectProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ConnectProxy()
    {
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>The <c>host:port</c> of every CONNECT request, in order.</summary>
    public ConcurrentQueue<string> Tunnels { get; } = new();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = TunnelAsync(client);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task TunnelAsync(TcpClient client)
    {
        using (client)
        {
            NetworkStream downstream = client.GetStream();
            string? target = await ReadConnectTargetAsync(downstream);
            if (target is null)
            {
                return;
            }

            Tunnels.Enqueue(target);
            int colon = target.LastIndexOf(':');
            using var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(target[..colon], int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), _stop.Token);
                await downstream.WriteAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray(), _stop.Token);
                NetworkStream up = upstream.GetStream();
                await Task.WhenAny(downstream.CopyToAsync(up, _stop.Token), up.CopyToAsync(downstream, _stop.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                // a tunnel ends when either side closes
            }
        }
    }

    /// <summary>Reads the request head byte by byte, so nothing after it (the TLS ClientHello) is consumed.</summary>
    private async Task<string?> ReadConnectTargetAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        byte[] one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0 || head.Length > 8192)
            {
                return null;
            }

            head.Append((char)one[0]);
        }

        string[] requestLine = head.ToString().Split("\r\n")[0].Split(' ');
        return requestLine is ["CONNECT", { } target, _] ? target : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
