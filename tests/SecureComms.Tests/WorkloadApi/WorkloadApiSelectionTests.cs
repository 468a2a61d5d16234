using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.Testing;
using static SecureComms.Tests.WorkloadApi.WorkloadApiTestBed;

namespace SecureComms.Tests.WorkloadApi;

/// <summary>
/// Which source <c>AddSecureCommsCore</c> builds from configuration alone, and the start-up errors that name the key to fix.
/// The environment is replaced per test, so <c>SPIFFE_ENDPOINT_SOCKET</c> of the machine running the tests plays no part.
/// </summary>
[TestClass]
public sealed class WorkloadApiSelectionTests
{
    private static readonly WorkloadApiEnvironment NoEnvironment = new(_ => null);

    [TestMethod]
    public async Task ExplicitWorkloadApi_WinsOverConfiguredFiles_AndOneWarningNamesTheIgnoredKeys()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        var logs = new FakeLogCollector();
        await using ServiceProvider services = Build(
            new Dictionary<string, string?>
            {
                ["SecureComms:Certificate:Source"] = "WorkloadApi",
                ["SecureComms:WorkloadApi:Socket"] = server.Socket,
                ["SecureComms:Certificate:CertificatePath"] = "/nonexistent/svid.pem",
                ["SecureComms:Certificate:KeyPath"] = "/nonexistent/svid.key",
                ["SecureComms:TrustBundles:example.org:Path"] = "/nonexistent/bundle.pem",
            },
            NoEnvironment,
            logs);

        await StartAsync(services);

        ICertificateSource certificates = services.GetRequiredService<ICertificateSource>();
        Assert.IsInstanceOfType<WorkloadApiX509Source>(certificates);
        Assert.AreSame<object>(certificates, services.GetRequiredService<ITrustBundleSource>(), "one source serves both");
        Assert.AreSame<object>(services.GetRequiredService<WorkloadApiX509Source>(), certificates);
        Assert.AreEqual(CertificateBinding.Thumbprint(server.CurrentCertificate), certificates.Current.Sha256Thumbprint);
        Assert.AreEqual(1, logs.CountOf(1805));
        Microsoft.Extensions.Logging.Testing.FakeLogRecord ignored = logs.GetSnapshot().Single(r => r.Id.Id == 1805);
        Assert.Contains("SecureComms:Certificate:CertificatePath", ignored.Message);
        Assert.Contains("SecureComms:Certificate:KeyPath", ignored.Message);
        Assert.Contains("SecureComms:TrustBundles:example.org", ignored.Message);
        Assert.AreEqual(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, services.GetRequiredService<WorkloadApiHealthCheck>().Check().Status);
    }

    [TestMethod]
    public async Task Automatic_WithTheEnvironmentVariable_AndNoCertificate_UsesTheWorkloadApi()
    {
        await using DevelopmentWorkloadApiServer server = await StartServerAsync();
        var logs = new FakeLogCollector();
        await using ServiceProvider services = Build([], Environment(server.Socket), logs);

        await StartAsync(services);

        Assert.IsInstanceOfType<WorkloadApiX509Source>(services.GetRequiredService<ICertificateSource>());
        Assert.AreEqual(Orders, services.GetRequiredService<ICertificateSource>().Current.SpiffeId);
        Assert.AreEqual(0, logs.CountOf(1805), "nothing was ignored");
        Assert.IsTrue(logs.Contains(1801, "SPIFFE_ENDPOINT_SOCKET"), "the first SVID names where the socket came from");
    }

    [TestMethod]
    public void Automatic_WithTheEnvironmentVariable_AndBundleFiles_FailsStartUp_SayingWhatToChange()
    {
        var options = new SecureCommsOptions();
        options.TrustBundles["example.org"] = new TrustBundleOptions { Path = "/etc/bundle.pem" };

        ValidateOptionsResult result = new SecureCommsOptionsValidator(Environment("unix:///run/spire/agent.sock")).Validate(null, options);

        Assert.IsTrue(result.Failed);
        Assert.Contains("bundles come from the Workload API; remove TrustBundles or set SecureComms:Certificate:Source=Files", result.FailureMessage!);
        Assert.Contains("SPIFFE_ENDPOINT_SOCKET", result.FailureMessage!);
    }

    [TestMethod]
    public void Automatic_WithACertificateConfigured_UsesTheFiles_EvenWithTheEnvironmentVariable()
    {
        var options = new SecureCommsOptions();
        options.Certificate.CertificatePath = "/etc/svid.pem";
        options.Certificate.KeyPath = "/etc/svid.key";

        Assert.IsFalse(WorkloadApiSelection.UsesWorkloadApi(options, Environment("unix:///run/spire/agent.sock")));
        Assert.Contains("SecureComms:Certificate:CertificatePath: the file '/etc/svid.pem' does not exist",
            new SecureCommsOptionsValidator(Environment("unix:///run/spire/agent.sock")).Validate(null, options).FailureMessage!);
    }

    [TestMethod]
    public void Files_IgnoresTheEnvironmentVariable()
    {
        var options = new SecureCommsOptions();
        options.Certificate.Source = CertificateSourceKind.Files;

        Assert.IsFalse(WorkloadApiSelection.UsesWorkloadApi(options, Environment("unix:///run/spire/agent.sock")));
    }

    [TestMethod]
    public void ACertificateSourceInCode_Wins()
    {
        var options = new SecureCommsOptions { HasCustomCertificateSource = true };
        options.Certificate.Source = CertificateSourceKind.WorkloadApi;

        Assert.IsFalse(WorkloadApiSelection.UsesWorkloadApi(options, Environment("unix:///run/spire/agent.sock")));
    }

    [TestMethod]
    public void NoCertificate_AndNoEndpoint_TheMessageMentionsTheWorkloadApi()
    {
        string message = new SecureCommsOptionsValidator(NoEnvironment).Validate(null, new SecureCommsOptions()).FailureMessage!;

        Assert.Contains("SecureComms:Certificate:CertificatePath and SecureComms:Certificate:KeyPath are required", message);
        Assert.Contains("SecureComms:WorkloadApi:Socket", message);
        Assert.Contains("SPIFFE_ENDPOINT_SOCKET", message);
    }

    [TestMethod]
    public void WorkloadApiSettings_AreValidated_EachProblemNamingItsKey()
    {
        var options = new SecureCommsOptions();
        options.Certificate.Source = CertificateSourceKind.WorkloadApi;
        options.WorkloadApi.Socket = "unix://agent/run/agent.sock";
        options.WorkloadApi.StartupTimeout = TimeSpan.FromMilliseconds(500);
        options.WorkloadApi.ReconnectDelay = TimeSpan.Zero;
        options.WorkloadApi.MaxReconnectDelay = TimeSpan.FromSeconds(-1);
        options.WorkloadApi.Hint = " ";

        ValidateOptionsResult result = new SecureCommsOptionsValidator(NoEnvironment).Validate(null, options);

        Assert.HasCount(5, result.Failures!, result.FailureMessage);
        Assert.Contains("SecureComms:WorkloadApi:Socket: 'unix://agent/run/agent.sock' names a host", result.FailureMessage!);
        Assert.Contains("SecureComms:WorkloadApi:StartupTimeout must be at least 00:00:01", result.FailureMessage!);
        Assert.Contains("SecureComms:WorkloadApi:ReconnectDelay must be more than zero", result.FailureMessage!);
        Assert.Contains("SecureComms:WorkloadApi:MaxReconnectDelay must be at least", result.FailureMessage!);
        Assert.Contains("SecureComms:WorkloadApi:Hint is blank", result.FailureMessage!);
    }

    [TestMethod]
    public void ExplicitWorkloadApi_WithoutAnyEndpoint_NamesTheKeyAndTheVariable()
    {
        var options = new SecureCommsOptions();
        options.Certificate.Source = CertificateSourceKind.WorkloadApi;

        string message = new SecureCommsOptionsValidator(NoEnvironment).Validate(null, options).FailureMessage!;

        Assert.Contains("SecureComms:WorkloadApi:Socket is required", message);
        Assert.Contains("SPIFFE_ENDPOINT_SOCKET", message);
        Assert.DoesNotContain("CertificatePath", message, "the files are not asked for");
    }

    [TestMethod]
    public void ABadAddressFromTheEnvironment_NamesTheVariable()
    {
        var options = new SecureCommsOptions();
        options.Certificate.Source = CertificateSourceKind.WorkloadApi;

        string message = new SecureCommsOptionsValidator(Environment("/run/spire/agent.sock")).Validate(null, options).FailureMessage!;

        Assert.Contains("the environment variable SPIFFE_ENDPOINT_SOCKET: '/run/spire/agent.sock' has an unsupported scheme", message);
    }

    [TestMethod]
    public async Task NoAgentAtStartUp_FailsAfterTheStartupTimeout_NamingTheSocketAndTheVariable()
    {
        string address = "unix://" + NewSocketPath();
        await using ServiceProvider services = Build(
            new Dictionary<string, string?> { ["SecureComms:WorkloadApi:StartupTimeout"] = "00:00:01" },
            Environment(address),
            new FakeLogCollector());

        InvalidOperationException error = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => StartAsync(services));

        Assert.Contains(address, error.Message);
        Assert.Contains("from the environment variable SPIFFE_ENDPOINT_SOCKET", error.Message);
    }

    private static WorkloadApiEnvironment Environment(string socket) =>
        new(name => name == WorkloadApiOptions.EndpointSocketVariable ? socket : null);

    private static ServiceProvider Build(Dictionary<string, string?> settings, WorkloadApiEnvironment environment, FakeLogCollector logs)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton(environment);
        services.AddSingleton<ILoggerFactory>(FakeLogs.LoggerFactory(logs));
        services.AddSecureCommsCore(configuration);
        return services.BuildServiceProvider();
    }

    /// <summary>Runs the start-up check the host runs before it listens.</summary>
    private static async Task StartAsync(ServiceProvider services)
    {
        foreach (IHostedService hosted in services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None).WaitAsync(Eventually.Deadline);
        }
    }
}
