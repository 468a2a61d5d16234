using System.Diagnostics;
using System.Globalization;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Runs the real nginx (Debian package) as a TLS-terminating proxy on 127.0.0.1, from a config of the test's own:
/// it requires a client certificate from the test CA and forwards it as <c>$ssl_client_escaped_cert</c>.
/// </summary>
internal sealed class Nginx : IAsyncDisposable
{
    private readonly Process _process;

    private Nginx(Process process, int port)
    {
        _process = process;
        Address = new Uri($"https://127.0.0.1:{port}/");
    }

    public Uri Address { get; }

    public static void RequireOrSkip()
    {
        if (File.Exists("/usr/sbin/nginx"))
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("SECURECOMMS_REQUIRE_INTEROP") == "1")
        {
            Assert.Fail("nginx is not installed, and SECURECOMMS_REQUIRE_INTEROP=1 requires interop tests to run.");
        }

        Assert.Inconclusive("nginx is not installed (apt-get install nginx-light); this interop test needs it.");
    }

    /// <summary>Starts nginx proxying to <paramref name="backend"/> (plain HTTP on loopback) with the client certificate in <paramref name="header"/>.</summary>
    public static async Task<Nginx> StartAsync(string directory, string certificatePath, string keyPath, string clientCaPath, Uri backend, string header)
    {
        int port = OpenSsl.FreeLoopbackPort();
        string temp = Path.Combine(directory, "nginx-temp");
        Directory.CreateDirectory(temp);
        string config = Path.Combine(directory, "nginx.conf");
        string user = Environment.UserName == "root" ? "user root;" : string.Empty;
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            {{user}}
            daemon off;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
                server {
                    listen 127.0.0.1:{{port}} ssl;
                    ssl_protocols TLSv1.2 TLSv1.3;
                    ssl_certificate {{certificatePath}};
                    ssl_certificate_key {{keyPath}};
                    ssl_client_certificate {{clientCaPath}};
                    ssl_verify_client on;
                    location / {
                        proxy_pass http://127.0.0.1:{{backend.Port}};
                        proxy_set_header {{header}} $ssl_client_escaped_cert;
                    }
                }
            }
            """));
        var start = new ProcessStartInfo("/usr/sbin/nginx", ["-c", config, "-p", directory, "-e", Path.Combine(directory, "error.log")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process = Process.Start(start)!;
        try
        {
            await OpenSsl.WaitForListenerAsync(port, TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            string log = File.Exists(Path.Combine(directory, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(directory, "error.log")) : "(no log)";
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"nginx did not start: {log}");
        }

        return new Nginx(process, port);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
