using System.Diagnostics;
using System.Text.Json;

namespace SecureComms.Tests.Tokens.Interop;

/// <summary>
/// Runs the real node-oidc-provider (npm <c>oidc-provider</c>, pinned in tests/interop/node-oidc-provider) on
/// 127.0.0.1 as an RFC 8705 authorization server for interop tests.
/// </summary>
internal sealed class NodeOidcProvider : IAsyncDisposable
{
    private readonly Process _process;

    private readonly System.Text.StringBuilder _errors;

    private NodeOidcProvider(Process process, int port, System.Text.StringBuilder errors)
    {
        _process = process;
        _errors = errors;
        Issuer = new Uri($"https://127.0.0.1:{port}");
    }

    public Uri Issuer { get; }

    /// <summary>What the provider wrote to stderr (its grant errors), for failure messages.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>
    /// Skips the test when Node or the installed package is missing; with SECURECOMMS_REQUIRE_INTEROP=1 (set by CI)
    /// a missing peer fails the test instead.
    /// </summary>
    public static void RequireOrSkip()
    {
        string? problem = null;
        if (!OnPath("node"))
        {
            problem = "Node.js is not installed.";
        }
        else if (!Directory.Exists(Path.Combine(PackageDirectory, "node_modules", "oidc-provider")))
        {
            problem = "oidc-provider is not installed: run `npm ci --prefix tests/interop/node-oidc-provider`.";
        }

        if (problem is null)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("SECURECOMMS_REQUIRE_INTEROP") == "1")
        {
            Assert.Fail($"{problem} SECURECOMMS_REQUIRE_INTEROP=1 requires the interop tests to run.");
        }

        Assert.Inconclusive(problem);
    }

    public static async Task<NodeOidcProvider> StartAsync(object configuration, string workDirectory)
    {
        string configPath = Path.Combine(workDirectory, "oidc-provider.json");
        await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(configuration));
        var start = new ProcessStartInfo("node", [Path.Combine(PackageDirectory, "server.mjs"), configPath])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = PackageDirectory,
        };
        Process process = Process.Start(start)!;
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("node-oidc-provider did not start within 30 s.");
            }

            if (line is null)
            {
                throw new InvalidOperationException($"node-oidc-provider exited: {errors}");
            }

            if (line.StartsWith("LISTENING ", StringComparison.Ordinal))
            {
                return new NodeOidcProvider(process, int.Parse(line["LISTENING ".Length..], System.Globalization.CultureInfo.InvariantCulture), errors);
            }
        }
    }

    /// <summary>
    /// Rotates the provider's signing key: a new <c>kid</c> first in its JWKS (so new tokens are signed with it), the
    /// old key kept after it. Returns the new key id once the provider signs with it.
    /// </summary>
    public async Task<string> RotateSigningKeyAsync()
    {
        await _process.StandardInput.WriteLineAsync("ROTATE");
        await _process.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("ROTATED ", StringComparison.Ordinal))
            {
                return line["ROTATED ".Length..];
            }
        }

        throw new InvalidOperationException($"node-oidc-provider exited during the rotation: {Errors}");
    }

    /// <summary>
    /// Makes the access tokens signed from now on read as if the provider's clock were <paramref name="lag"/> behind
    /// (their <c>iat</c> and <c>exp</c> moved back); <see cref="TimeSpan.Zero"/> undoes it.
    /// </summary>
    public async Task SetTokenClockLagAsync(TimeSpan lag)
    {
        long seconds = (long)lag.TotalSeconds;
        await _process.StandardInput.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"LAG {seconds}"));
        await _process.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("LAGGING ", StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new InvalidOperationException($"node-oidc-provider exited while setting the clock lag: {Errors}");
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

    private static string PackageDirectory =>
        Path.Combine(
            FindRepository(AppContext.BaseDirectory) ?? FindRepository(SourceDirectory()) ?? throw new InvalidOperationException("SecureComms.sln not found above the test binaries or sources."),
            "tests",
            "interop",
            "node-oidc-provider");

    private static string? FindRepository(string start)
    {
        var dir = new DirectoryInfo(start);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureComms.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName;
    }

    // Binaries built elsewhere (dotnet test --artifacts-path) still find the repository through this file's location.
    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(dir => File.Exists(Path.Combine(dir, name)));
}
