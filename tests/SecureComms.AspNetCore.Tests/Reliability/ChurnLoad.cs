using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.IdentityModel.JsonWebTokens;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Reliability;

/// <summary>
/// The callers of the churn test and what both ends saw: every answer counted by path and status (an exception is an
/// answer too), each one checked against the policy in force while it was sent, and, on the server, the certificates
/// and token of every request it answered.
/// </summary>
internal sealed class ChurnLoad
{
    /// <summary>The policy edit's progress, read before and after each request (the policy a request meets is decided in between).</summary>
    public const int PolicyBefore = 0;
    public const int PolicyFixWritten = 1;
    public const int PolicyFixLogged = 2;
    public const int PolicyFixConfirmed = 3;

    private const int MaxFailuresKept = 20;
    private readonly ConcurrentDictionary<string, int> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<string, byte> _serverCertificates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Certificate, string Cnf), byte> _clientBindings = new();
    private readonly ConcurrentDictionary<string, byte> _signingKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);
    private readonly int[] _completedByCaller;
    private int _policyPhase;
    private int _requests;
    private int _failed;
    private int _reportsAllowedAfterFixLogged;
    private int _reportsAfterFixConfirmed;
    private int _unboundTokens;

    public ChurnLoad(int callers) => _completedByCaller = new int[callers];

    public int Requests => Volatile.Read(ref _requests);

    public int Failed => Volatile.Read(ref _failed);

    public IReadOnlyCollection<string> Failures => _failures;

    public int Handshakes => _connections.Count;

    public int UnboundTokens => Volatile.Read(ref _unboundTokens);

    public int ReportsAfterFixConfirmed => Volatile.Read(ref _reportsAfterFixConfirmed);

    public int ReportsAllowedAfterFixLogged => Volatile.Read(ref _reportsAllowedAfterFixLogged);

    public int PolicyPhase
    {
        get => Volatile.Read(ref _policyPhase);
        set => Volatile.Write(ref _policyPhase, value);
    }

    /// <summary>Answers counted by "path status" (or "path exception: message").</summary>
    public IEnumerable<KeyValuePair<string, int>> Answers => _answers.OrderBy(a => a.Key, StringComparer.Ordinal);

    public bool EveryCallerAnswered => Enumerable.Range(0, _completedByCaller.Length).All(i => Volatile.Read(ref _completedByCaller[i]) > 0);

    /// <summary>Whether a request reached the server on a connection where it presented <paramref name="svid"/>.</summary>
    public bool ServerPresented(WorkloadCertificate svid) => _serverCertificates.ContainsKey(svid.Sha256Thumbprint);

    /// <summary>Whether a request arrived on a connection presenting <paramref name="svid"/> with a token whose <c>cnf</c> names it (RFC 8705 §3.1).</summary>
    public bool ClientPresentedWithItsToken(WorkloadCertificate svid) => _clientBindings.ContainsKey((svid.Sha256Thumbprint, svid.Sha256Thumbprint));

    /// <summary>Whether a request arrived with a token signed by the key <paramref name="kid"/>.</summary>
    public bool TokenSignedBy(string kid) => _signingKeys.ContainsKey(kid);

    /// <summary>The server's endpoint: records what this request's connection and token carry; the body is not read.</summary>
    public string Observe(HttpContext context)
    {
        ConnectionInfo connection = context.Connection;
        _connections.TryAdd(connection.Id, 0);
        if (context.Features.Get<ISslStreamFeature>()?.SslStream.LocalCertificate is System.Security.Cryptography.X509Certificates.X509Certificate2 presented)
        {
            _serverCertificates.TryAdd(CertificateBinding.Thumbprint(presented), 0);
        }

        string clientCertificate = CertificateBinding.Thumbprint(connection.ClientCertificate!);
        string authorization = context.Request.Headers.Authorization.ToString();
        var token = new JsonWebToken(authorization["Bearer ".Length..]);
        string cnf = Cnf(token) ?? "none";
        _clientBindings.TryAdd((clientCertificate, cnf), 0);
        _signingKeys.TryAdd(token.Kid, 0);
        if (cnf != clientCertificate)
        {
            Interlocked.Increment(ref _unboundTokens);
        }

        return "ok";
    }

    /// <summary>One caller: requests one after another until <paramref name="stop"/>, each through a client from the factory.</summary>
    public async Task CallAsync(int caller, IHttpClientFactory clients, CancellationToken stop)
    {
        for (int n = caller; !stop.IsCancellationRequested; n++)
        {
            // Half the requests to a path always allowed, a quarter to one the policy edit opens, a quarter to one always denied.
            string path = (n % 4) switch { 0 or 1 => "/invoices", 2 => "/reports", _ => "/admin" };
            int phaseAtStart = PolicyPhase;
            string answer;
            try
            {
                using HttpClient client = clients.CreateClient("billing");
                using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative), CancellationToken.None);
                answer = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception ex)
            {
                answer = $"{ex.GetType().Name}: {ex.Message}";
            }

            Record(path, answer, phaseAtStart, PolicyPhase);
            Interlocked.Increment(ref _completedByCaller[caller]);
        }
    }

    private void Record(string path, string answer, int phaseAtStart, int phaseAtEnd)
    {
        Interlocked.Increment(ref _requests);
        _answers.AddOrUpdate($"{path} {answer}", 1, (_, count) => count + 1);
        bool expected = path switch
        {
            "/invoices" => answer == "200",
            "/admin" => answer == "403",

            // Decided by the policy of the moment: denied until the fix, allowed once it is in force, either while it is applied.
            _ when phaseAtEnd == PolicyBefore => answer == "403",
            _ when phaseAtStart >= PolicyFixConfirmed => answer == "200",
            _ => answer is "200" or "403",
        };
        if (path == "/reports" && answer == "200" && phaseAtStart >= PolicyFixLogged)
        {
            Interlocked.Increment(ref _reportsAllowedAfterFixLogged);
        }

        if (path == "/reports" && phaseAtStart >= PolicyFixConfirmed)
        {
            Interlocked.Increment(ref _reportsAfterFixConfirmed);
        }

        if (!expected)
        {
            Interlocked.Increment(ref _failed);
            if (_failures.Count < MaxFailuresKept)
            {
                _failures.Enqueue($"{path} answered {answer} (policy phase {phaseAtStart}→{phaseAtEnd})");
            }
        }
    }

    private static string? Cnf(JsonWebToken token) =>
        token.TryGetPayloadValue("cnf", out JsonElement cnf)
            && cnf.ValueKind == JsonValueKind.Object
            && cnf.TryGetProperty("x5t#S256", out JsonElement thumbprint)
            ? thumbprint.GetString()
            : null;
}
