using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Runs the real <c>openssl</c> command-line tool as a TLS peer on loopback.</summary>
internal static class OpenSsl
{
    /// <summary>
    /// Whether the openssl binary is present. CI installs it and sets SECURECOMMS_REQUIRE_INTEROP=1, which turns a
    /// missing binary into a failure instead of a skip.
    /// </summary>
    public static void RequireOrSkip()
    {
        if (Which("openssl") is not null)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("SECURECOMMS_REQUIRE_INTEROP") == "1")
        {
            Assert.Fail("openssl is not installed, and SECURECOMMS_REQUIRE_INTEROP=1 requires interop tests to run.");
        }

        Assert.Inconclusive("openssl is not installed (apt-get install openssl); this interop test needs it.");
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string arguments, string? standardInput = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("openssl", arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(start)!;
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"openssl {arguments} did not finish.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts a long-running openssl process (e.g. s_server); dispose to stop it.</summary>
    public static Process Start(string arguments)
    {
        var start = new ProcessStartInfo("openssl", arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForListenerAsync(int port, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
