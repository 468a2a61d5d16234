using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace SecureComms.Tests.WorkloadApi.Interop;

/// <summary>
/// Runs a SPIFFE Workload API server on a gRPC stack SecureComms did not write (<c>@grpc/grpc-js</c> with
/// <c>@grpc/proto-loader</c>, pinned in tests/interop/spiffe-workload-api) on a Unix socket of its own, serving the
/// repository's <c>workload.proto</c>. It mints nothing: the test gives it DER certificates and PKCS#8 keys over its
/// control channel (JSON lines on stdin, one acknowledgement line per command on stdout).
/// </summary>
internal sealed class NodeWorkloadApiServer : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _errors;
    private readonly SemaphoreSlim _commands = new(1, 1);

    private NodeWorkloadApiServer(Process process, string socketPath, StringBuilder errors)
    {
        _process = process;
        _errors = errors;
        SocketPath = socketPath;
    }

    /// <summary>The socket's path.</summary>
    public string SocketPath { get; }

    /// <summary>The Workload API address, as <c>SPIFFE_ENDPOINT_SOCKET</c> would give it: <c>unix:///path</c>.</summary>
    public string Address => "unix://" + SocketPath;

    /// <summary>What the server wrote to stderr, for failure messages.</summary>
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
    /// Skips the test when Node or the installed packages are missing; with SECURECOMMS_REQUIRE_INTEROP=1 (set by CI)
    /// a missing peer fails the test instead.
    /// </summary>
    public static void RequireOrSkip()
    {
        string? problem = null;
        if (!OnPath("node"))
        {
            problem = "Node.js is not installed.";
        }
        else if (!Directory.Exists(Path.Combine(PackageDirectory, "node_modules", "@grpc", "grpc-js"))
            || !Directory.Exists(Path.Combine(PackageDirectory, "node_modules", "@grpc", "proto-loader")))
        {
            problem = "@grpc/grpc-js is not installed: run `npm ci --prefix tests/interop/spiffe-workload-api`.";
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

    /// <summary>Starts the server on a fresh short socket path (Unix socket paths must stay under 108 bytes).</summary>
    public static async Task<NodeWorkloadApiServer> StartAsync()
    {
        string socketPath = Path.Combine(Path.GetTempPath(), "sc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".sock");
        string proto = Path.Combine(RepositoryDirectory, "src", "SecureComms", "WorkloadApi", "workload.proto");
        var start = new ProcessStartInfo("node", [Path.Combine(PackageDirectory, "server.mjs"), "unix://" + socketPath, "--proto", proto])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = PackageDirectory,
        };
        Process process = Process.Start(start)!;
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var server = new NodeWorkloadApiServer(process, socketPath, errors);
        try
        {
            JsonNode ready = await server.ReadLineAsync("start");
            if (ready["ready"]?.GetValue<bool>() != true)
            {
                throw new InvalidOperationException($"the Workload API server did not report ready: {ready.ToJsonString()} {server.Errors}");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Serves <paramref name="svid"/> (with its intermediates) as the only SVID, with its trust domain's bundle, and pushes it.</summary>
    /// <returns>The number of open streams the new response was pushed to.</returns>
    public Task<int> SetSvidAsync(WorkloadCertificate svid, IEnumerable<X509Certificate2> bundle, string? hint = null)
    {
        ArgumentNullException.ThrowIfNull(svid);
        return SetRawSvidAsync(SpiffeIdOf(svid.Certificate), Der([svid.Certificate, .. svid.Intermediates]), Pkcs8(svid.Certificate), Der(bundle), hint);
    }

    /// <summary>Serves these bytes as they are (a test of what a client does with a malformed response), and pushes them.</summary>
    public async Task<int> SetRawSvidAsync(string spiffeId, byte[] certificates, byte[] pkcs8Key, byte[] bundle, string? hint = null)
    {
        JsonNode ack = await SendAsync(new JsonObject
        {
            ["op"] = "set-svid",
            ["spiffeId"] = spiffeId,
            ["certs"] = Convert.ToBase64String(certificates),
            ["key"] = Convert.ToBase64String(pkcs8Key),
            ["bundle"] = Convert.ToBase64String(bundle),
            ["hint"] = hint,
        });
        return ack["pushed"]!.GetValue<int>();
    }

    /// <summary>Adds (or replaces) the bundle of a federated trust domain, keyed as given (<c>spiffe://partner.test</c>), and pushes it.</summary>
    public async Task<int> AddFederatedBundleAsync(string trustDomainKey, IEnumerable<X509Certificate2> bundle)
    {
        JsonNode ack = await SendAsync(new JsonObject
        {
            ["op"] = "add-federated",
            ["trustDomain"] = trustDomainKey,
            ["bundle"] = Convert.ToBase64String(Der(bundle)),
        });
        return ack["pushed"]!.GetValue<int>();
    }

    /// <summary>Serves <paramref name="jwks"/> (JWK set JSON) as the JWT bundle of the trust domain keyed <paramref name="trustDomainKey"/>, and pushes it.</summary>
    public async Task<int> SetJwtBundleAsync(string trustDomainKey, string jwks)
    {
        JsonNode ack = await SendAsync(new JsonObject { ["op"] = "set-jwt-bundle", ["trustDomain"] = trustDomainKey, ["jwks"] = jwks });
        return ack["pushed"]!.GetValue<int>();
    }

    /// <summary>Makes <c>FetchJWTSVID</c> answer <paramref name="token"/> for <paramref name="audience"/>.</summary>
    public Task SetJwtSvidAsync(string audience, SpiffeId spiffeId, string token) =>
        SendAsync(new JsonObject { ["op"] = "set-jwt-svid", ["audience"] = new JsonArray(audience), ["spiffeId"] = spiffeId.ToString(), ["token"] = token });

    /// <summary>Ends every open stream with UNAVAILABLE, as an agent restart does; returns how many were open.</summary>
    public async Task<int> KillStreamsAsync() => (await SendAsync(new JsonObject { ["op"] = "kill-streams" }))["ended"]!.GetValue<int>();

    /// <summary>Stops listening (open streams end with UNAVAILABLE, the socket file is removed).</summary>
    public Task StopListeningAsync() => SendAsync(new JsonObject { ["op"] = "stop" });

    /// <summary>Listens on the same socket again.</summary>
    public Task StartListeningAsync() => SendAsync(new JsonObject { ["op"] = "start" });

    /// <summary>From now on every call and every open stream fails with PERMISSION_DENIED (no identity registered).</summary>
    public Task DenyAsync() => SendAsync(new JsonObject { ["op"] = "deny" });

    /// <summary>The server's counters (calls by method, rejections for a missing security header, open streams, pushes).</summary>
    public async Task<NodeWorkloadApiStats> GetStatsAsync()
    {
        JsonNode stats = await SendAsync(new JsonObject { ["op"] = "stats" });
        return new NodeWorkloadApiStats(
            stats["rejectedWithoutHeader"]!.GetValue<int>(),
            stats["calls"]!["FetchX509SVID"]!.GetValue<int>(),
            stats["openStreams"]!["FetchX509SVID"]!.GetValue<int>(),
            stats["openStreams"]!["FetchX509Bundles"]!.GetValue<int>());
    }

    /// <summary>Sends one command and returns its acknowledgement; a refused command fails the test with the server's reason.</summary>
    public async Task<JsonNode> SendAsync(JsonObject command)
    {
        ArgumentNullException.ThrowIfNull(command);
        string op = command["op"]?.GetValue<string>() ?? "?";
        await _commands.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command.ToJsonString());
            await _process.StandardInput.FlushAsync();
            JsonNode ack = await ReadLineAsync(op);
            if (ack["ok"]?.GetValue<bool>() != true)
            {
                throw new InvalidOperationException($"the Workload API server refused '{op}': {ack["error"]} {Errors}");
            }

            return ack;
        }
        finally
        {
            _commands.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Closing stdin makes the server close its streams and remove its socket; killing it is the fallback.
            _process.StandardInput.Close();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        _commands.Dispose();
        File.Delete(SocketPath);
    }

    private async Task<JsonNode> ReadLineAsync(string waitingFor)
    {
        using var timeout = new CancellationTokenSource(CommandTimeout);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the Workload API server did not answer '{waitingFor}' within {CommandTimeout.TotalSeconds} s: {Errors}");
        }

        return line is null
            ? throw new InvalidOperationException($"the Workload API server exited while waiting for '{waitingFor}': {Errors}")
            : JsonNode.Parse(line) ?? throw new InvalidOperationException($"the Workload API server wrote '{line}'");
    }

    /// <summary>Certificates as the Workload API carries them: DER, concatenated.</summary>
    public static byte[] Der(IEnumerable<X509Certificate2> certificates)
    {
        var der = new List<byte>();
        foreach (X509Certificate2 certificate in certificates)
        {
            der.AddRange(certificate.RawData);
        }

        return [.. der];
    }

    /// <summary>The certificate's private key as the Workload API carries it: PKCS#8 DER.</summary>
    public static byte[] Pkcs8(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey()
            ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("the SVID has no private key");
        return key.ExportPkcs8PrivateKey();
    }

    private static string SpiffeIdOf(X509Certificate2 certificate) =>
        SvidInspector.TryGetSpiffeId(certificate, out SpiffeId id, out string? error)
            ? id.ToString()
            : throw new InvalidOperationException($"not an SVID: {error}");

    private static string PackageDirectory => Path.Combine(RepositoryDirectory, "tests", "interop", "spiffe-workload-api");

    private static string RepositoryDirectory =>
        FindRepository(AppContext.BaseDirectory) ?? FindRepository(SourceDirectory())
            ?? throw new InvalidOperationException("SecureComms.sln not found above the test binaries or sources.");

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

/// <summary>The interop server's counters.</summary>
internal sealed record NodeWorkloadApiStats(int RejectedWithoutHeader, int X509SvidCalls, int OpenX509SvidStreams, int OpenX509BundleStreams);
