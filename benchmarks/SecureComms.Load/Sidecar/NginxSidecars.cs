using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SecureComms.Testing;

namespace SecureComms.Load.Sidecar;

/// <summary>
/// A service mesh's hop, played by two nginx processes (Debian package <c>nginx</c>) on 127.0.0.1: the client sidecar
/// takes the caller's plaintext HTTP/1.1 (and h2c) and originates mutual TLS with the client's SVID over kept-alive
/// upstream connections with session reuse; the server sidecar terminates it (client certificate required and chained
/// to the development CA) and forwards each request over kept-alive plaintext HTTP/1.1 to the app, with the client
/// certificate in <c>X-Client-Cert</c> (<c>$ssl_client_escaped_cert</c>). One worker per nginx: 2 workers on 2 cores.
/// No access log (a mesh's proxies log nothing per request by default). The configs, certificates and nginx's own
/// files live in a private temporary folder, removed when the pair stops.
/// </summary>
internal sealed class NginxSidecars : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly string _nginx;
    private readonly string _folder;
    private readonly List<(Process Master, string Config, string ErrorLog)> _processes = [];

    private NginxSidecars(string nginx, string folder, int http11Port, int http2Port)
    {
        _nginx = nginx;
        _folder = folder;
        Http11Address = new Uri($"http://127.0.0.1:{http11Port}");
        Http2Address = new Uri($"http://127.0.0.1:{http2Port}");
    }

    /// <summary>The client sidecar's plaintext HTTP/1.1 listener.</summary>
    public Uri Http11Address { get; }

    /// <summary>The client sidecar's plaintext HTTP/2 listener (h2c with prior knowledge).</summary>
    public Uri Http2Address { get; }

    /// <summary>The nginx binary: <c>$NGINX</c>, else <c>/usr/sbin/nginx</c>, else on <c>PATH</c>; <see langword="null"/> if none.</summary>
    public static string? Find()
    {
        string? configured = Environment.GetEnvironmentVariable("NGINX");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists("/usr/sbin/nginx"))
        {
            return "/usr/sbin/nginx";
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "nginx");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Writes both configs, starts both nginx processes and waits until they listen. <paramref name="app"/> is the
    /// app's plaintext listener; <paramref name="serverName"/> is the name the client sidecar checks the server
    /// sidecar's certificate against (nginx checks host names, not SPIFFE IDs: an SVID's common name here).
    /// </summary>
    /// <param name="clientCpu">The CPU the client sidecar's worker is pinned to (<c>worker_cpu_affinity</c>), as a mesh's client sidecar runs beside its client; <see langword="null"/>: not pinned.</param>
    /// <param name="serverCpu">The CPU the server sidecar's worker is pinned to, beside its app; <see langword="null"/>: not pinned.</param>
    public static async Task<NginxSidecars> StartAsync(string nginx, DevelopmentCertificateAuthority ca, WorkloadCertificate client, WorkloadCertificate server, string serverName, Uri app, int? clientCpu = null, int? serverCpu = null)
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("securecomms-sidecars-");
        int http11 = LoadServers.FreeLoopbackPort(), http2 = LoadServers.FreeLoopbackPort(), mtls = LoadServers.FreeLoopbackPort();
        var pair = new NginxSidecars(nginx, folder.FullName, http11, http2);
        try
        {
            string dir = folder.FullName;
            DevelopmentCertificateAuthority.WriteCertificatePem(client, Path.Combine(dir, "client.pem"), Path.Combine(dir, "client.key"));
            DevelopmentCertificateAuthority.WriteCertificatePem(server, Path.Combine(dir, "server.pem"), Path.Combine(dir, "server.key"));
            ca.WriteTrustBundlePem(Path.Combine(dir, "ca.pem"));

            await pair.StartOneAsync("server", serverCpu, $$"""
                upstream app {
                    server 127.0.0.1:{{app.Port}};
                    keepalive 64;
                    keepalive_requests 1000000;
                }
                server {
                    listen 127.0.0.1:{{mtls}} ssl;
                    keepalive_requests 1000000;
                    ssl_protocols TLSv1.2 TLSv1.3;
                    ssl_certificate {{dir}}/server.pem;
                    ssl_certificate_key {{dir}}/server.key;
                    ssl_client_certificate {{dir}}/ca.pem;
                    ssl_verify_client on;
                    ssl_verify_depth 2;
                    ssl_session_cache shared:sidecar:1m;
                    location / {
                        proxy_pass http://app;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        # Replaces any X-Client-Cert the caller sent: the app trusts it from 127.0.0.1 only.
                        proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
                    }
                }
                """, mtls);
            await pair.StartOneAsync("client", clientCpu, $$"""
                upstream server_sidecar {
                    server 127.0.0.1:{{mtls}};
                    keepalive 64;
                    keepalive_requests 1000000;
                }
                server {
                    listen 127.0.0.1:{{http11}};
                    listen 127.0.0.1:{{http2}} http2;
                    keepalive_requests 1000000;
                    location / {
                        proxy_pass https://server_sidecar;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_ssl_protocols TLSv1.2 TLSv1.3;
                        proxy_ssl_certificate {{dir}}/client.pem;
                        proxy_ssl_certificate_key {{dir}}/client.key;
                        proxy_ssl_trusted_certificate {{dir}}/ca.pem;
                        proxy_ssl_verify on;
                        proxy_ssl_verify_depth 2;
                        proxy_ssl_name {{serverName}};
                        proxy_ssl_session_reuse on;
                    }
                }
                """, http11, http2);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>Both nginx processes' usage so far: each master and its worker.</summary>
    public ProcessUsage ReadUsage() => ProcessUsage.ReadProcesses(ProcessIds());

    /// <summary>Both nginx processes' resident memory now and at its peak (masters and workers), in bytes.</summary>
    public MemoryReading ReadMemory() => ProcessUsage.ReadMemory(ProcessIds());

    private List<int> ProcessIds()
    {
        var ids = new List<int>();
        foreach ((Process master, _, _) in _processes)
        {
            ids.Add(master.Id);
            ids.AddRange(ProcessUsage.ChildProcesses(master.Id));
        }

        return ids;
    }

    public async ValueTask DisposeAsync()
    {
        foreach ((Process master, string config, string errorLog) in _processes)
        {
            // SIGTERM (nginx's fast shutdown) through nginx's own signal option and the pid file, then a kill if need be.
            if (!master.HasExited)
            {
                using (Process? stop = Process.Start(new ProcessStartInfo(_nginx, ["-c", config, "-p", _folder, "-e", errorLog, "-s", "stop"]) { RedirectStandardError = true }))
                {
                    if (stop is not null)
                    {
                        await stop.WaitForExitAsync();
                    }
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await master.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    master.Kill(entireProcessTree: true);
                    await master.WaitForExitAsync();
                }
            }

            master.Dispose();
        }

        try
        {
            Directory.Delete(_folder, recursive: true); // it holds the SVIDs' private keys
        }
        catch (IOException)
        {
            // left for the system's temporary-file clean-up
        }
    }

    private async Task StartOneAsync(string name, int? cpu, string servers, params int[] ports)
    {
        string dir = _folder;
        string temp = Path.Combine(dir, name + "-temp");
        Directory.CreateDirectory(temp);
        string config = Path.Combine(dir, name + ".conf");
        string errorLog = Path.Combine(dir, name + "-error.log");

        // As root, workers would otherwise run as "nobody" and could not read the keys in this private folder.
        string user = Environment.UserName == "root" ? "user root;" : string.Empty;
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            {{user}}
            daemon off;
            worker_processes 1;
            {{(cpu is { } pinned ? $"worker_cpu_affinity 1{new string('0', pinned)};" : string.Empty)}}
            pid {{dir}}/{{name}}.pid;
            error_log {{errorLog}} warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
            {{servers}}
            }
            """));
        var start = new ProcessStartInfo(_nginx, ["-c", config, "-p", dir, "-e", errorLog])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process master = Process.Start(start) ?? throw new InvalidOperationException($"{_nginx} did not start.");
        _processes.Add((master, config, errorLog));
        foreach (int port in ports)
        {
            if (!await ListensAsync(master, port))
            {
                string log = File.Exists(errorLog) ? await File.ReadAllTextAsync(errorLog) : "(no error log)";
                string output = master.HasExited ? await master.StandardError.ReadToEndAsync() : string.Empty;
                throw new InvalidOperationException($"The {name} sidecar ({_nginx} -c {config}) did not listen on 127.0.0.1:{port} within {StartTimeout.TotalSeconds:0} s: {output}{log}");
            }
        }
    }

    private static async Task<bool> ListensAsync(Process master, int port)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !master.HasExited)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }
}
