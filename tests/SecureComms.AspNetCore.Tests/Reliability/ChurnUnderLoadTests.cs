using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Reliability;

/// <summary>
/// Churn under load: a billing service on real Kestrel, an orders worker whose 16 callers use SecureComms clients from
/// <c>IHttpClientFactory</c> with certificate-bound tokens, and the development token server, three hosts with their own
/// DI containers that meet only over TLS on 127.0.0.1. Both take their settings from JSON files that reload on change
/// and their identities and trust bundles from PEM files. While the callers call, a script rotates both SVIDs every few
/// seconds (alternately an atomic rename and a Kubernetes <c>..data</c> swap), rotates the CA, rotates the token
/// issuer's signing key and then withdraws the old one, stops and restarts the token server, and saves a bad policy
/// edit and then its fix. No request may fail; every change must be seen by the other side before the next one.
/// </summary>
[TestClass]
public sealed class ChurnUnderLoadTests
{
    private const int Callers = 16;
    private const string Resource = "https://billing.example.org";
    private const string SummaryFile = "churn-summary.txt";

    /// <summary>A bound for each step of the script (a reload, a handshake, a token): generous, for a busy 2-core machine.</summary>
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(60);

    /// <summary>Load between two events of the script, so that each one happens while requests flow.</summary>
    private static readonly TimeSpan BetweenEvents = TimeSpan.FromSeconds(1.5);

    /// <summary>The token server stays down this long while the callers go on with the tokens they hold.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);

    /// <summary>The resource server refetches the JWKS for an unknown key at most this often (<c>KeyRefreshMinInterval</c>).</summary>
    private static readonly TimeSpan KeyRefreshMinInterval = TimeSpan.FromSeconds(5);

    private static readonly TrustDomain Domain = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://example.org/billing");
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");
    private static readonly SpiffeId TokenServer = SpiffeId.Parse("spiffe://example.org/token-server");

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task RotationsOutagesAndABadPolicyEdit_WhileSixteenCallersCall_FailNoRequest_AndEachIsSeenByThePeer()
    {
        var total = Stopwatch.StartNew();
        using var folder = new TemporaryFolder("securecomms-churn-");
        using DevelopmentCertificateAuthority oldCa = DevelopmentCertificateAuthority.Create(Domain, lifetime: TimeSpan.FromDays(1));
        using DevelopmentCertificateAuthority newCa = DevelopmentCertificateAuthority.Create(Domain, lifetime: TimeSpan.FromDays(1));
        var timeline = new Timeline();

        // Each host's files in its own folder, as each would have its own volume.
        string serverFolder = Directory.CreateDirectory(folder.File("billing")).FullName;
        string clientFolder = Directory.CreateDirectory(folder.File("orders")).FullName;
        var serverIdentity = new IdentityFiles(Directory.CreateDirectory(Path.Combine(serverFolder, "svid")).FullName);
        var clientIdentity = new IdentityFiles(Directory.CreateDirectory(Path.Combine(clientFolder, "svid")).FullName);
        string serverBundle = Path.Combine(serverFolder, "bundle.pem");
        string clientBundle = Path.Combine(clientFolder, "bundle.pem");
        string policy = Path.Combine(serverFolder, "policy.json");
        WorkloadCertificate serverSvid = oldCa.IssueSvid(Billing);
        WorkloadCertificate clientSvid = oldCa.IssueSvid(Orders);
        await serverIdentity.WriteAsync(serverSvid);
        await clientIdentity.WriteAsync(clientSvid);
        await WriteBundlesAsync([serverBundle, clientBundle], oldCa);
        await ConfigurationFiles.ReplaceAsync(policy, Policy("v1", reports: false, invalidRule: false));

        await using DevelopmentTokenServer tokenServer = await DevelopmentTokenServer.StartAsync(new DevelopmentTokenServerOptions
        {
            ServerCertificate = oldCa.IssueSvid(TokenServer),
            ClientTrust = new TrustBundle(Domain, [oldCa.Certificate, newCa.Certificate]),
            Clients = [new DevelopmentClient { ClientId = "orders", TlsClientAuthSanUri = Orders, AllowedScopes = ["invoices.read"], AllowedResources = [Resource] }],
        });
        string authority = tokenServer.Issuer.GetLeftPart(UriPartial.Authority);

        var load = new ChurnLoad(Callers);
        string serverSettings = Path.Combine(serverFolder, "appsettings.json");
        await ConfigurationFiles.ReplaceAsync(serverSettings, ServerSettings(serverIdentity, serverBundle, authority));
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app =>
            {
                // No rule in code: the central policy in policy.json decides every path.
                app.MapGet("/invoices", load.Observe);
                app.MapGet("/reports", load.Observe);
                app.MapGet("/admin", load.Observe);
            },
            certificate: null,
            bundles: null,
            configuration: c => c.AddJsonFile(serverSettings, optional: false, reloadOnChange: true).AddJsonFile(policy, optional: false, reloadOnChange: true));

        string clientSettings = Path.Combine(clientFolder, "appsettings.json");
        await ConfigurationFiles.ReplaceAsync(clientSettings, ClientSettings(clientIdentity, clientBundle, billing.BaseAddress, authority));
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddJsonFile(clientSettings, optional: false, reloadOnChange: true);
        var clientLogs = new FakeLogCollector();
        builder.Logging.AddProvider(new FakeLoggerProvider(clientLogs)).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSecureCommsCore(builder.Configuration);
        using IHost orders = builder.Build();
        await orders.StartAsync();
        IHttpClientFactory clients = orders.Services.GetRequiredService<IHttpClientFactory>();

        using var stop = new CancellationTokenSource();
        var loadTime = Stopwatch.StartNew();
        Task[] callers = [.. Enumerable.Range(0, Callers).Select(i => Task.Run(() => load.CallAsync(i, clients, stop.Token)))];
        try
        {
            await Eventually.WaitUntilAsync(() => load.EveryCallerAnswered || load.Failed > 0, "every caller answered once", StepDeadline);
            string firstKey = tokenServer.PublishedKeyIds[^1];
            await Eventually.WaitUntilAsync(() => load.TokenSignedBy(firstKey), "tokens of the first signing key arrive", StepDeadline);
            timeline.Add(load, $"warm: {Callers} callers answered, tokens signed by the first key");

            // Certificates issued by the CA in force; the probe presents the client's current one.
            DevelopmentCertificateAuthority ca = oldCa;

            // A new handshake, as a client presenting the current client SVID: the server certificate it is shown.
            Task<string> ProbeAsync()
            {
                timeline.Probes++;
                return ServerCertificateProbe.GetThumbprintAsync(billing.BaseAddress, clientSvid.Certificate, static (_, c, _, _) => c is not null);
            }

            async Task RotateServerAsync(DevelopmentCertificateAuthority issuer)
            {
                Assert.AreEqual(serverSvid.Certificate.Thumbprint, await ProbeAsync(), "until its next rotation, the server presents its last SVID");
                serverSvid = issuer.IssueSvid(Billing);
                string how = await serverIdentity.WriteAsync(serverSvid);
                WorkloadCertificate rotated = serverSvid;
                await Eventually.WaitUntilAsync(
                    async () => await ProbeAsync() == rotated.Certificate.Thumbprint,
                    $"the next handshake presents the rotated server SVID ({how})",
                    StepDeadline);
                await Eventually.WaitUntilAsync(() => load.ServerPresented(rotated) || load.Failed > 0, $"SecureComms clients meet the rotated server SVID ({how})", StepDeadline);
                timeline.Count($"server SVID, {how}");
                timeline.Add(load, $"server SVID rotated ({how}, {CaName(issuer)}): presented on the next handshake, then to the callers");
            }

            async Task RotateClientAsync(DevelopmentCertificateAuthority issuer, string? expectedKid = null)
            {
                clientSvid = issuer.IssueSvid(Orders);
                string how = await clientIdentity.WriteAsync(clientSvid);
                WorkloadCertificate rotated = clientSvid;
                await Eventually.WaitUntilAsync(
                    () => load.ClientPresentedWithItsToken(rotated) || load.Failed > 0,
                    $"the server sees the rotated client SVID with a token whose cnf names it ({how})",
                    StepDeadline);
                if (expectedKid is not null)
                {
                    await Eventually.WaitUntilAsync(() => load.TokenSignedBy(expectedKid) || load.Failed > 0, $"the next token is signed by the new key {expectedKid}", StepDeadline);
                }

                timeline.Count($"client SVID, {how}");
                timeline.Add(load, $"client SVID rotated ({how}, {CaName(issuer)}): presented on the next handshake with a new token, cnf = its x5t#S256{(expectedKid is null ? string.Empty : ", signed by the new key")}");
            }

            async Task<string> RotateSigningKeyAsync(bool retirePrevious)
            {
                int fetches = tokenServer.JwksRequestCount;
                tokenServer.RotateSigningKey(retirePreviousKeys: retirePrevious);
                string kid = tokenServer.PublishedKeyIds[^1];
                timeline.Count(retirePrevious ? "signing key, rotated with the previous keys withdrawn" : "signing key, rotated with the previous key kept");
                timeline.Add(load, retirePrevious ? $"signing key rotated to {kid}, every earlier key withdrawn from the JWKS" : $"signing key rotated to {kid}, the previous key still published");
                await PauseAsync();
                await RotateClientAsync(ca, kid);
                await Eventually.WaitUntilAsync(() => tokenServer.JwksRequestCount > fetches, "billing fetched the JWKS for the new key", StepDeadline);
                return kid;
            }

            await RotateServerAsync(ca);
            await PauseAsync();
            await RotateClientAsync(ca);
            await PauseAsync();
            await RotateSigningKeyAsync(retirePrevious: false);
            var sinceKeyFetch = Stopwatch.StartNew();
            await PauseAsync();
            await RotateServerAsync(ca);
            await PauseAsync();

            // A bad edit: it would open /reports, but one of its callers is not a SPIFFE ID. Refused; v1 stays.
            await ConfigurationFiles.ReplaceAsync(policy, Policy("bad", reports: true, invalidRule: true));
            await billing.Logs.WaitForAsync(e => e.Id.Id == 1410, "the bad policy edit refused (1410)", StepDeadline);
            timeline.Count("policy edit, refused");
            timeline.Add(load, "bad policy edit saved: refused (1410), the last good policy keeps deciding");
            await PauseAsync();
            await RotateClientAsync(ca);
            await PauseAsync();
            await RotateServerAsync(ca);
            await PauseAsync();

            // Its fix: /reports opens for orders once the new policy is in force.
            load.PolicyPhase = ChurnLoad.PolicyFixWritten;
            await ConfigurationFiles.ReplaceAsync(policy, Policy("fixed", reports: true, invalidRule: false));
            await billing.Logs.WaitForAsync(e => e.Id.Id == 1411 && e.Message.Contains("version fixed", StringComparison.Ordinal), "the fixed policy loaded (1411)", StepDeadline);
            load.PolicyPhase = ChurnLoad.PolicyFixLogged;
            await Eventually.WaitUntilAsync(() => load.ReportsAllowedAfterFixLogged > 0 || load.Failed > 0, "a caller allowed on /reports by the fixed policy", StepDeadline);
            load.PolicyPhase = ChurnLoad.PolicyFixConfirmed;
            timeline.Count("policy edit, applied");
            timeline.Add(load, "policy fix saved: loaded (1411), /reports allowed from then on");
            await PauseAsync();

            // CA rotation: the new root joins both bundles before anything is issued from it.
            int serverBundleLoads = billing.Logs.CountOf(1100);
            int clientBundleLoads = clientLogs.CountOf(1100);
            await WriteBundlesAsync([serverBundle, clientBundle], oldCa, newCa);
            await Eventually.WaitUntilAsync(() => billing.Logs.CountOf(1100) > serverBundleLoads && clientLogs.CountOf(1100) > clientBundleLoads, "both sides loaded the bundle with the new root (1100)", StepDeadline);
            timeline.Count("CA, new root added to the bundles");
            timeline.Add(load, "CA rotation: new root added to both bundles, loaded by both sides");
            await PauseAsync();

            // The token server goes down, and comes back on its port with a certificate from the new CA and its keys.
            int tokensBeforeOutage = tokenServer.TokenRequestCount;
            await tokenServer.StopAsync();
            int requestsBeforeOutage = load.Requests;
            timeline.Add(load, "token server stopped");
            await Task.Delay(Outage);
            await Eventually.WaitUntilAsync(() => load.Requests > requestsBeforeOutage || load.Failed > 0, "requests answered while the token server is down", StepDeadline);
            int requestsDuringOutage = load.Requests - requestsBeforeOutage;
            await tokenServer.RestartAsync(newCa.IssueSvid(TokenServer));
            timeline.Count("token server, stopped and restarted");
            timeline.Add(load, $"token server restarted on port {tokenServer.Issuer.Port} with a certificate from the new CA ({requestsDuringOutage:N0} requests answered while it was down)");
            ca = newCa;
            await PauseAsync();
            await RotateServerAsync(ca);
            await PauseAsync();
            await RotateClientAsync(ca);
            Assert.IsGreaterThan(tokensBeforeOutage, tokenServer.TokenRequestCount, "the rotated client SVID's token came from the restarted token server");
            await PauseAsync();

            // The old root leaves the bundles once nothing presents a certificate it issued.
            serverBundleLoads = billing.Logs.CountOf(1100);
            clientBundleLoads = clientLogs.CountOf(1100);
            await WriteBundlesAsync([serverBundle, clientBundle], newCa);
            await Eventually.WaitUntilAsync(() => billing.Logs.CountOf(1100) > serverBundleLoads && clientLogs.CountOf(1100) > clientBundleLoads, "both sides loaded the bundle without the old root (1100)", StepDeadline);
            timeline.Count("CA, old root removed from the bundles");
            timeline.Add(load, "CA rotation: old root removed from both bundles, loaded by both sides");
            await PauseAsync();

            // The previous signing key is withdrawn (and a new one signs): billing must refetch, hence the interval.
            if (sinceKeyFetch.Elapsed < KeyRefreshMinInterval + TimeSpan.FromSeconds(1))
            {
                await Task.Delay(KeyRefreshMinInterval + TimeSpan.FromSeconds(1) - sinceKeyFetch.Elapsed);
            }

            await RotateSigningKeyAsync(retirePrevious: true);
            await PauseAsync();
            await RotateServerAsync(ca);
            await PauseAsync();
            await RotateClientAsync(ca);
            await PauseAsync();
            await RotateServerAsync(ca);
            await PauseAsync();
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(callers).WaitAsync(StepDeadline);
        }

        loadTime.Stop();
        int refusedEdits = billing.Logs.CountOf(1410);
        string warnings = $"billing {Warnings(billing.Logs)} (1400: {Denials(billing.Logs, 403):N0} denied by the policy, {Denials(billing.Logs, 401):N0} tokens refused, renewed and replayed by the client); orders {Warnings(clientLogs)}";
        string summary = timeline.Summary(load, loadTime.Elapsed, total.Elapsed, tokenServer, clientLogs.CountOf(1501), refusedEdits, warnings);
        TestContext.WriteLine(summary);
        // In the test's working directory (its output folder), where .ci/run prints it from; attached to the results too.
        string summaryPath = Path.Combine(Directory.GetCurrentDirectory(), SummaryFile);
        await File.WriteAllTextAsync(summaryPath, summary);
        TestContext.AddResultFile(summaryPath);

        Assert.AreEqual(0, load.Failed, $"{load.Failed} of {load.Requests} requests failed:\n{string.Join('\n', load.Failures)}\n\n{summary}");
        Assert.AreEqual(0, load.UnboundTokens, "every token the server accepted was bound to the certificate of its connection");
        Assert.AreEqual(1, refusedEdits, "the bad policy edit was logged once: " + string.Join('\n', billing.Logs.GetSnapshot().Where(e => e.Id.Id == 1410).Select(e => e.Message)));
        Assert.AreEqual(0, billing.Logs.CountOf(1902), "no configuration file was ever read half written");
        Assert.AreEqual(load.Answers.Where(a => a.Key.EndsWith(" 403", StringComparison.Ordinal)).Sum(a => a.Value), Denials(billing.Logs, 403), "one denial event (1400) per request denied by the policy");
        Assert.IsGreaterThan(0, load.ReportsAfterFixConfirmed, "requests were decided by the fixed policy");
        string[] errors = [.. billing.Logs.GetSnapshot().Concat(clientLogs.GetSnapshot()).Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category} {e.Id.Id} {e.Message}")];
        Assert.IsEmpty(errors, string.Join('\n', errors));
    }

    private static Task PauseAsync() => Task.Delay(BetweenEvents);

    /// <summary>Warnings by event id, say a certificate file read while its key was not yet replaced (1001, retried).</summary>
    private static string Warnings(FakeLogCollector logs)
    {
        string[] counts = [.. logs.GetSnapshot().Where(e => e.Level == LogLevel.Warning).GroupBy(e => e.Id.Id).OrderBy(g => g.Key).Select(g => $"{g.Key} × {g.Count()}")];
        return counts.Length == 0 ? "none" : string.Join(", ", counts);
    }

    /// <summary>Denials (event 1400) answered with <paramref name="status"/>.</summary>
    private static int Denials(FakeLogCollector logs, int status) =>
        logs.GetSnapshot().Count(e => e.Id.Id == 1400 && e.Message.EndsWith($"({status})", StringComparison.Ordinal));

    private static string CaName(DevelopmentCertificateAuthority ca) => $"CA {ca.Certificate.Thumbprint[..8]}";

    private static Task WriteBundlesAsync(string[] paths, params DevelopmentCertificateAuthority[] authorities)
    {
        var pem = new StringBuilder();
        foreach (DevelopmentCertificateAuthority authority in authorities)
        {
            pem.Append(authority.Certificate.ExportCertificatePem()).Append('\n');
        }

        return Task.WhenAll(paths.Select(path => ConfigurationFiles.ReplaceAsync(path, pem.ToString())));
    }

    /// <summary>
    /// The central policy: orders may read /invoices; with <paramref name="reports"/> /reports too; /admin is never
    /// allowed. <paramref name="invalidRule"/> adds a rule whose caller is not a SPIFFE ID, which makes the file invalid.
    /// </summary>
    private static string Policy(string version, bool reports, bool invalidRule)
    {
        var rules = new List<object> { new { Name = "orders-invoices", Callers = new[] { Orders.ToString() }, Paths = new[] { "/invoices/*" } } };
        if (reports)
        {
            rules.Add(new { Name = "orders-reports", Callers = new[] { Orders.ToString() }, Paths = new[] { "/reports/*" } });
        }

        if (invalidRule)
        {
            rules.Add(new { Name = "analytics-reports", Callers = new[] { "analytics" }, Paths = new[] { "/reports/*" } });
        }

        return JsonSerializer.Serialize(new { SecureComms = new { Authorization = new { Version = version, Rules = rules } } });
    }

    private static string ServerSettings(IdentityFiles identity, string bundle, string authority) => JsonSerializer.Serialize(new
    {
        SecureComms = new Dictionary<string, object>
        {
            ["FilePollingInterval"] = "00:00:01",
            ["Certificate"] = new { identity.CertificatePath, identity.KeyPath },
            ["TrustBundles"] = new Dictionary<string, object> { [Domain.ToString()] = new { Path = bundle } },
            ["TokenValidation"] = new
            {
                Authority = authority,
                ExpectedServer = TokenServer.ToString(),
                Audience = Resource,
                KeyRefreshMinInterval = KeyRefreshMinInterval.ToString("c", CultureInfo.InvariantCulture),
            },
        },
    });

    private static string ClientSettings(IdentityFiles identity, string bundle, Uri billing, string authority) => JsonSerializer.Serialize(new
    {
        SecureComms = new Dictionary<string, object>
        {
            ["FilePollingInterval"] = "00:00:01",
            ["Certificate"] = new { identity.CertificatePath, identity.KeyPath },
            ["TrustBundles"] = new Dictionary<string, object> { [Domain.ToString()] = new { Path = bundle } },
            ["Clients"] = new Dictionary<string, object>
            {
                ["billing"] = new
                {
                    BaseAddress = billing.ToString(),
                    ExpectedServer = Billing.ToString(),

                    // Connections are replaced every 2 s, so that the callers keep handshaking with whatever certificates are current.
                    PooledConnectionLifetime = "00:00:02",
                    Token = new
                    {
                        Authority = authority,
                        ExpectedServer = TokenServer.ToString(),
                        ClientId = "orders",
                        Scope = "invoices.read",
                        Resource,
                    },
                },
            },
        },
    });

    /// <summary>
    /// One workload's SVID and key as files, rotated alternately the two ways files change under a watcher: a new file
    /// renamed over the old one (spiffe-helper, cert-manager's CSI driver), and a Kubernetes secret volume's
    /// <c>..data</c> symlink swap. A swap after a rename also puts the file's link back (a rename as well); the next
    /// swap is a pure <c>..data</c> swap.
    /// </summary>
    private sealed class IdentityFiles(string folder)
    {
        private readonly KubernetesStyleVolume _volume = new(folder);
        private int _rotations;

        public string CertificatePath => _volume.PathOf("svid.pem");

        public string KeyPath => _volume.PathOf("svid.key");

        /// <summary>Writes <paramref name="svid"/>; returns how.</summary>
        public async Task<string> WriteAsync(WorkloadCertificate svid)
        {
            if (_rotations++ % 3 == 1)
            {
                DevelopmentCertificateAuthority.WriteCertificatePem(svid, CertificatePath, KeyPath);
                return "atomic rename";
            }

            bool relink = File.Exists(CertificatePath) && new FileInfo(CertificatePath).LinkTarget is null;
            string version = _volume.NewVersion();
            DevelopmentCertificateAuthority.WriteCertificatePem(svid, Path.Combine(version, "svid.pem"), Path.Combine(version, "svid.key"));
            await _volume.PublishAsync(version);
            return relink ? "..data swap, links restored" : "..data swap";
        }
    }

    /// <summary>What the script did, when, and how many of each.</summary>
    private sealed class Timeline
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<string> _events = [];
        private readonly SortedDictionary<string, int> _counts = new(StringComparer.Ordinal);

        public int Probes { get; set; }

        public void Add(ChurnLoad load, string what) =>
            _events.Add(string.Create(CultureInfo.InvariantCulture, $"  {_clock.Elapsed.TotalSeconds,6:F1} s  {load.Requests,9:N0} requests  {what}"));

        public void Count(string kind) => _counts[kind] = _counts.GetValueOrDefault(kind) + 1;

        public string Summary(ChurnLoad load, TimeSpan loadTime, TimeSpan total, DevelopmentTokenServer tokenServer, int tokensAcquired, int refusedEdits, string warnings)
        {
            var text = new StringBuilder();
            var invariant = CultureInfo.InvariantCulture;
            text.AppendLine(invariant, $"Churn under load: {Callers} callers, {load.Requests:N0} requests in {loadTime.TotalSeconds:F1} s ({load.Requests / loadTime.TotalSeconds:N0}/s), {load.Failed} failed; test {total.TotalSeconds:F1} s");
            text.AppendLine("requests by path and status:");
            foreach ((string answer, int count) in load.Answers)
            {
                text.AppendLine(invariant, $"  {answer,-16} {count,9:N0}");
            }

            text.AppendLine("events:");
            foreach ((string kind, int count) in _counts)
            {
                text.AppendLine(invariant, $"  {kind,-58} {count,3}");
            }

            text.AppendLine(invariant, $"server SVID rotations: {Sum("server SVID")}, client SVID rotations: {Sum("client SVID")}, CA rotations: {_counts.GetValueOrDefault("CA, old root removed from the bundles")}, signing key rotations: {Sum("signing key")}, token server restarts: {Sum("token server")}");
            text.AppendLine(invariant, $"tokens acquired: {tokensAcquired} (token endpoint requests {tokenServer.TokenRequestCount}, JWKS fetches {tokenServer.JwksRequestCount})");
            text.AppendLine(invariant, $"handshakes: {load.Handshakes:N0} connections that carried requests, {Probes} probe handshakes");
            text.AppendLine(invariant, $"refused edits: {refusedEdits} (event 1410)");
            text.AppendLine(invariant, $"warnings logged: {warnings}");
            text.AppendLine(invariant, $"duration: {loadTime.TotalSeconds:F1} s under load, {total.TotalSeconds:F1} s in all");
            text.AppendLine("timeline:");
            foreach (string line in _events)
            {
                text.AppendLine(line);
            }

            return text.ToString();
        }

        private int Sum(string prefix) => _counts.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(c => c.Value);
    }
}
