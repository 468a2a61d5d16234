using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Configuration;

/// <summary>
/// YARP's rule for reloadable settings, through real files that reload on change, a real <c>ConfigurationRoot</c> and
/// real Kestrel while requests flow: a bad edit is refused with one warning naming the key and a metric, the last good
/// settings keep deciding, no request sees an options exception, and a good edit then takes effect.
/// </summary>
[TestClass]
public sealed class ConfigurationReloadTests
{
    /// <summary>A file reload goes through the file watcher, the configuration root and the options monitor: allow a busy machine time.</summary>
    private static readonly TimeSpan ReloadDeadline = TimeSpan.FromSeconds(20);

    private const string GoodPolicy = """
        { "SecureComms": { "Authorization": { "Rules": [
          { "Name": "orders-invoices", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/invoices/*" ] } ] } } }
        """;

    private const string BadCallerPolicy = """
        { "SecureComms": { "Authorization": { "Rules": [
          { "Name": "orders-invoices", "Callers": [ "not a spiffe id" ], "Paths": [ "/invoices/*" ] } ] } } }
        """;

    private const string WiderPolicy = """
        { "SecureComms": { "Authorization": { "Rules": [
          { "Name": "invoices", "Callers": [ "spiffe://example.org/orders", "spiffe://example.org/analytics" ], "Paths": [ "/invoices/*" ] } ] } } }
        """;

    private static readonly WorkloadCertificate OrdersSvid = TestPki.Issue(TestPki.Orders);
    private static readonly WorkloadCertificate AnalyticsSvid = TestPki.Issue(TestPki.Analytics);

    [TestMethod]
    public async Task InvalidPolicyEdit_IsRefusedOnce_AndTheLastGoodPolicyKeepsDeciding_ThenAGoodEditTakesEffect()
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        await ConfigurationFiles.ReplaceAsync(policy, GoodPolicy);
        await using SecureServiceHost billing = await StartBillingAsync(policy);
        using var telemetry = new TelemetryCapture(MeterOf(billing));
        await using RequestFlow flow = PolicyFlow(billing);
        await flow.RoundsAsync(3);

        await ConfigurationFiles.ReplaceAsync(policy, BadCallerPolicy);
        FakeLogRecord rejected = await billing.Logs.WaitForAsync(e => e.Id.Id == 1410, "the invalid policy refused (1410)", ReloadDeadline);
        await flow.RoundsAsync(20); // requests go on under the refused edit
        int beforeGoodEdit = flow.Rounds;
        await ConfigurationFiles.ReplaceAsync(policy, WiderPolicy);
        await flow.WaitForAsync("analytics /invoices", HttpStatusCode.OK, "the good edit lets analytics in");

        flow.AssertEveryAnswerBefore(beforeGoodEdit, PolicyExpectations);
        Assert.AreEqual(LogLevel.Warning, rejected.Level);
        Assert.Contains("SecureComms:Authorization:Rules:0:Callers:0 'not a spiffe id'", rejected.Message);
        Assert.HasCount(1, ReloadWarnings(billing), string.Join(Environment.NewLine, ReloadWarnings(billing)));
        Assert.AreEqual(1, Rejections(telemetry, "SecureComms:Authorization"), "one refused change counted");
        await billing.Logs.WaitForAsync(e => e.Id.Id == 1411 && e.Message.Contains("policy of 1 rules", StringComparison.Ordinal), "the good edit reported (1411)", ReloadDeadline);
    }

    [TestMethod]
    public async Task JsonSyntaxError_IsReportedOnceNamingTheFile_AndTheLastGoodPolicyStays_EvenWhenAnotherFileChanges()
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        string other = Path.Combine(dir.Path, "appsettings.json");
        await ConfigurationFiles.ReplaceAsync(policy, GoodPolicy);
        await ConfigurationFiles.ReplaceAsync(other, """{ "Unrelated": "1" }""");
        await using SecureServiceHost billing = await StartBillingAsync(policy, other);
        using var telemetry = new TelemetryCapture(MeterOf(billing));
        await using RequestFlow flow = PolicyFlow(billing);
        await flow.RoundsAsync(3);

        await ConfigurationFiles.ReplaceAsync(policy, """{ "SecureComms": { "Authorization": { "Rules": [ { "Name": """);
        FakeLogRecord unreadable = await billing.Logs.WaitForAsync(e => e.Id.Id == 1902, "the unreadable file reported (1902)", ReloadDeadline);
        await flow.RoundsAsync(10);

        // .NET empties an unparsable file's settings without signalling a change; the next change of any other source
        // would bind a configuration without the policy (every caller denied) were it not held back.
        await ConfigurationFiles.ReplaceAsync(other, """{ "Unrelated": "2" }""");
        await billing.Logs.WaitForAsync(e => e.Id.Id == 1903 && e.Message.Contains("of SecureComms:Authorization:", StringComparison.Ordinal), "the change of the other file deferred (1903)", ReloadDeadline);
        await flow.RoundsAsync(20);
        int beforeGoodEdit = flow.Rounds;
        await ConfigurationFiles.ReplaceAsync(policy, WiderPolicy);
        await flow.WaitForAsync("analytics /invoices", HttpStatusCode.OK, "the repaired file takes effect");

        flow.AssertEveryAnswerBefore(beforeGoodEdit, PolicyExpectations);
        Assert.AreEqual(LogLevel.Warning, unreadable.Level);
        Assert.Contains(policy, unreadable.Message);
        Assert.HasCount(1, ReloadWarnings(billing), string.Join(Environment.NewLine, ReloadWarnings(billing)));
        Assert.AreEqual(1, Rejections(telemetry, "file"), "one unreadable file counted");
        Assert.AreEqual(0, Rejections(telemetry, "SecureComms:Authorization"), "no settings were refused: the file was never parsed");
    }

    [TestMethod]
    public async Task RateLimitEditToZero_IsRefused_AndNoRequestFails_ThenAGoodEditTakesEffectAtOnce()
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        await ConfigurationFiles.ReplaceAsync(policy, RateLimited(100_000));
        await using SecureServiceHost billing = await StartBillingAsync(policy);
        using var telemetry = new TelemetryCapture(MeterOf(billing));
        using HttpClient orders = TestClients.RawClient(OrdersSvid);
        using HttpClient analytics = TestClients.RawClient(AnalyticsSvid);
        await using var flow = new RequestFlow(
            ("orders /invoices", () => StatusAsync(orders, billing, "/invoices")),
            ("analytics /invoices", () => StatusAsync(analytics, billing, "/invoices")),
            ("analytics /admin", () => StatusAsync(analytics, billing, "/admin")),
            ("analytics /healthz", () => StatusAsync(analytics, billing, "/healthz")));
        await flow.RoundsAsync(3);

        await ConfigurationFiles.ReplaceAsync(policy, RateLimited(0));
        FakeLogRecord rejected = await billing.Logs.WaitForAsync(e => e.Id.Id == 1900, "the zero limit refused (1900)", ReloadDeadline);
        await flow.RoundsAsync(20);
        int beforeGoodEdit = flow.Rounds;
        await ConfigurationFiles.ReplaceAsync(policy, RateLimited(5));
        await flow.WaitForAsync("analytics /invoices", HttpStatusCode.TooManyRequests, "the new limit of 5 applies at once");

        flow.AssertEveryAnswerBefore(beforeGoodEdit, new Dictionary<string, HttpStatusCode>
        {
            ["orders /invoices"] = HttpStatusCode.OK,
            ["analytics /invoices"] = HttpStatusCode.OK,
            ["analytics /admin"] = HttpStatusCode.Forbidden,
            ["analytics /healthz"] = HttpStatusCode.OK,
        });
        Assert.Contains("SecureComms:Authorization:RateLimits:0:PermitLimit must be at least 1", rejected.Message);
        Assert.Contains("SecureComms:Authorization:RateLimits", rejected.Message);
        Assert.HasCount(1, ReloadWarnings(billing), string.Join(Environment.NewLine, ReloadWarnings(billing)));
        Assert.AreEqual(1, Rejections(telemetry, "SecureComms:Authorization:RateLimits"));
    }

    [TestMethod]
    public async Task InvalidClientEdit_IsRefused_AndCreateClientKeepsTheLastGoodSettings_ThenAGoodEditTakesEffect()
    {
        await using SecureServiceHost billing = await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", () => "invoices").RequireCaller("spiffe://example.org/orders"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles());
        int port = billing.BaseAddress.Port;
        using var dir = new TemporaryFolder();
        string appsettings = Path.Combine(dir.Path, "appsettings.json");
        await ConfigurationFiles.ReplaceAsync(appsettings, ClientSettings($"https://127.0.0.1:{port}/"));

        // A worker as the template builds one: its clients come from appsettings.json, which reloads on change.
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddJsonFile(appsettings, optional: false, reloadOnChange: true);
        var logs = new FakeLogCollector();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSecureCommsCore(builder.Configuration)
            .UseCertificateSource(new InMemoryCertificateSource(OrdersSvid))
            .UseTrustBundleSource(TestPki.Bundles());
        var pipelines = new PipelineCounter();
        builder.Services.AddSingleton<IHttpMessageHandlerBuilderFilter>(pipelines);
        builder.Services.AddHttpClient("billing").SetHandlerLifetime(TimeSpan.FromSeconds(1)); // handlers rebuilt while the edit stands
        using IHost worker = builder.Build();
        await worker.StartAsync();
        IHttpClientFactory clients = worker.Services.GetRequiredService<IHttpClientFactory>();
        HealthCheckService health = worker.Services.GetRequiredService<HealthCheckService>();
        HealthStatus healthy = (await health.CheckHealthAsync()).Status;
        using var telemetry = new TelemetryCapture(worker.Services.GetRequiredService<SecureCommsMetrics>().Meter);
        await using var flow = new RequestFlow(
            ("billing /invoices", () => CallBillingAsync(clients)),
            ("health", async () => (await health.CheckHealthAsync()).Status == healthy ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable));
        await flow.RoundsAsync(3);

        await ConfigurationFiles.ReplaceAsync(appsettings, ClientSettings($"http://127.0.0.1:{port}/"));
        FakeLogRecord rejected = await logs.WaitForAsync(e => e.Id.Id == 1900, "the plaintext address refused (1900)", ReloadDeadline);
        int built = pipelines.Built;
        await flow.WaitUntilAsync(() => pipelines.Built > built, "a handler pipeline rebuilt after the edit (lifetime 1 s)");
        await flow.RoundsAsync(10);
        int beforeGoodEdit = flow.Rounds;
        await ConfigurationFiles.ReplaceAsync(appsettings, ClientSettings($"https://localhost:{port}/"));
        await flow.WaitUntilAsync(() => NewClientHost(clients) == "localhost", "the good edit's address used by new clients");

        flow.AssertEveryAnswerBefore(beforeGoodEdit, new Dictionary<string, HttpStatusCode>
        {
            ["billing /invoices"] = HttpStatusCode.OK,
            ["health"] = HttpStatusCode.OK,
        });
        Assert.Contains("SecureComms:Clients:billing:BaseAddress", rejected.Message);
        Assert.ContainsSingle(e => e.Category == "SecureComms.Configuration" && e.Level >= LogLevel.Warning, logs.GetSnapshot());
        Assert.AreEqual(1, Rejections(telemetry, "SecureComms"));
        await worker.StopAsync();
    }

    [TestMethod]
    [DataRow(BadCallerPolicy, "SecureComms:Authorization:Rules:0:Callers:0", DisplayName = "invalid caller")]
    [DataRow("""{ "SecureComms": { "Authorization": { "RateLimits": [ { "Callers": [ "*" ], "PermitLimit": 0 } ] } } }""", "SecureComms:Authorization:RateLimits:0:PermitLimit", DisplayName = "zero rate limit")]
    [DataRow("""{ "SecureComms": { "Authorization": { "Rules": [ { "Name": """, "policy.json", DisplayName = "JSON syntax error")]
    public async Task TheSameBadFile_AtStartUp_StopsStartup_NamingWhatToFix(string contents, string expectedInMessage)
    {
        using var dir = new TemporaryFolder();
        string policy = Path.Combine(dir.Path, "policy.json");
        await ConfigurationFiles.ReplaceAsync(policy, contents);

        Exception error = await Assert.ThrowsAsync<Exception>(() => StartBillingAsync(policy));

        Assert.Contains(expectedInMessage, error.ToString());
    }

    private static readonly Dictionary<string, HttpStatusCode> PolicyExpectations = new()
    {
        ["orders /invoices"] = HttpStatusCode.OK,
        ["analytics /invoices"] = HttpStatusCode.Forbidden,
        ["orders /orders-only"] = HttpStatusCode.OK,
        ["analytics /orders-only"] = HttpStatusCode.Forbidden,
    };

    private static RequestFlow PolicyFlow(SecureServiceHost billing)
    {
        HttpClient orders = TestClients.RawClient(OrdersSvid);
        HttpClient analytics = TestClients.RawClient(AnalyticsSvid);
        return new RequestFlow(
            [orders, analytics],
            ("orders /invoices", () => StatusAsync(orders, billing, "/invoices")),
            ("analytics /invoices", () => StatusAsync(analytics, billing, "/invoices")),
            ("orders /orders-only", () => StatusAsync(orders, billing, "/orders-only")),
            ("analytics /orders-only", () => StatusAsync(analytics, billing, "/orders-only")));
    }

    /// <summary>Billing on real Kestrel with its policy in <paramref name="files"/>, which reload on change.</summary>
    private static Task<SecureServiceHost> StartBillingAsync(params string[] files) =>
        SecureServiceHost.StartAsync(
            app =>
            {
                app.MapGet("/invoices", () => "invoices"); // the central policy decides
                app.MapGet("/admin", () => "admin");
                app.MapGet("/orders-only", () => "orders").RequireCaller("spiffe://example.org/orders");
                app.MapGet("/healthz", () => "ok").AllowAnonymous();
            },
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            configuration: c =>
            {
                foreach (string file in files)
                {
                    c.AddJsonFile(file, optional: false, reloadOnChange: true);
                }
            });

    private static string RateLimited(int permitLimit) => $$"""
        { "SecureComms": { "Authorization": {
          "Rules": [ { "Name": "invoices", "Callers": [ "spiffe://example.org/orders", "spiffe://example.org/analytics" ], "Paths": [ "/invoices/*" ] } ],
          "RateLimits": [ { "Callers": [ "spiffe://example.org/analytics" ], "PermitLimit": {{permitLimit}}, "Window": "00:10:00" } ] } } }
        """;

    private static string ClientSettings(string baseAddress) => $$"""
        { "SecureComms": { "Clients": { "billing": { "BaseAddress": "{{baseAddress}}", "ExpectedServer": "spiffe://example.org/billing" } } } }
        """;

    /// <summary>A new client each time: <c>CreateClient</c> reads the client's settings.</summary>
    private static async Task<HttpStatusCode> CallBillingAsync(IHttpClientFactory clients)
    {
        using HttpClient client = clients.CreateClient("billing");
        using HttpResponseMessage response = await client.GetAsync(new Uri("/invoices", UriKind.Relative));
        return response.StatusCode;
    }

    private static string? NewClientHost(IHttpClientFactory clients)
    {
        using HttpClient client = clients.CreateClient("billing");
        return client.BaseAddress?.Host;
    }

    private static System.Diagnostics.Metrics.Meter MeterOf(SecureServiceHost host) =>
        host.App.Services.GetRequiredService<SecureCommsMetrics>().Meter;

    private static string[] ReloadWarnings(SecureServiceHost host) =>
        [.. host.Logs.GetSnapshot().Where(e => e.Category == "SecureComms.Configuration" && e.Level >= LogLevel.Warning).Select(e => $"{e.Id.Id} {e.Message}")];

    private static double Rejections(TelemetryCapture telemetry, string section) =>
        telemetry.Measurements(SecureCommsTelemetry.Instruments.ConfigurationReloads)
            .Where(m => m.Has(SecureCommsTelemetry.Tags.ConfigurationSection, section) && m.Has(SecureCommsTelemetry.Tags.Result, SecureCommsTelemetry.Results.Rejected))
            .Sum(m => m.Value);

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, SecureServiceHost host, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(host.BaseAddress, path));
        return response.StatusCode;
    }

    /// <summary>Counts handler pipelines built by <c>IHttpClientFactory</c> (after SecureComms' handlers were created).</summary>
    private sealed class PipelineCounter : IHttpMessageHandlerBuilderFilter
    {
        private int _built;

        public int Built => Volatile.Read(ref _built);

        public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
        {
            next(builder);
            Interlocked.Increment(ref _built);
        };
    }

    /// <summary>
    /// Requests sent back to back, in rounds, while a test edits configuration (at most 5,000 rounds); every answer, or
    /// exception, is kept with its round.
    /// </summary>
    private sealed class RequestFlow : IAsyncDisposable
    {
        private const int MaxRounds = 5_000;
        private readonly (string Name, Func<Task<HttpStatusCode>> Send)[] _requests;
        private readonly IDisposable[] _owned;
        private readonly ConcurrentQueue<(int Round, string Name, string Answer)> _answers = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _rounds;

        public RequestFlow(params (string Name, Func<Task<HttpStatusCode>> Send)[] requests)
            : this([], requests)
        {
        }

        public RequestFlow(IDisposable[] owned, params (string Name, Func<Task<HttpStatusCode>> Send)[] requests)
        {
            _owned = owned;
            _requests = requests;
            _loop = Task.Run(RunAsync);
        }

        public int Rounds => Volatile.Read(ref _rounds);

        /// <summary>Waits until <paramref name="count"/> more rounds have completed.</summary>
        public Task RoundsAsync(int count)
        {
            int target = Rounds + count;
            return WaitUntilAsync(() => Rounds >= target, $"{count} more rounds of requests");
        }

        public Task WaitForAsync(string name, HttpStatusCode status, string what)
        {
            string answer = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return WaitUntilAsync(() => _answers.Any(a => a.Name == name && a.Answer == answer), what);
        }

        public async Task WaitUntilAsync(Func<bool> condition, string what)
        {
            await Eventually.WaitUntilAsync(() => condition() || _loop.IsCompleted, what, ReloadDeadline);
            Assert.IsTrue(condition(), $"the requests stopped before: {what}");
        }

        /// <summary>Every answer of a round before <paramref name="round"/> was the expected status, never a 500 or an exception.</summary>
        public void AssertEveryAnswerBefore(int round, Dictionary<string, HttpStatusCode> expected)
        {
            string[] wrong = [.. _answers
                .Where(a => a.Round < round && a.Answer != ((int)expected[a.Name]).ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Select(a => $"round {a.Round}: {a.Name} answered {a.Answer}")
                .Distinct()
                .Take(10)];
            Assert.IsEmpty(wrong, string.Join(Environment.NewLine, wrong));
            Assert.IsGreaterThanOrEqualTo(10 * _requests.Length, _answers.Count(a => a.Round < round), "requests flowed throughout");
        }

        private async Task RunAsync()
        {
            for (int round = 0; round < MaxRounds && !_stop.IsCancellationRequested; round++)
            {
                foreach ((string name, Func<Task<HttpStatusCode>> send) in _requests)
                {
                    string answer;
                    try
                    {
                        answer = ((int)await send()).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }
                    catch (Exception ex)
                    {
                        answer = $"{ex.GetType().Name}: {ex.Message}";
                    }

                    _answers.Enqueue((round, name, answer));
                }

                Interlocked.Increment(ref _rounds);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
            foreach (IDisposable owned in _owned)
            {
                owned.Dispose();
            }
        }
    }
}
