using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SecureComms.AspNetCore.Tests.Infrastructure;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Configuration;

/// <summary>Fail closed: bad or missing configuration stops start-up with a message naming the key to fix.</summary>
[TestClass]
public sealed class StartupValidationTests
{
    private static async Task<Exception> StartExpectingFailureAsync(IDictionary<string, string?> settings)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSecureComms(builder.Configuration);

        // Depending on the problem, start-up stops while the host is built (Kestrel's options need the certificate)
        // or when it starts (options validation); either way the host never listens.
        return await Assert.ThrowsAsync<Exception>(async () =>
        {
            await using WebApplication app = builder.Build();
            app.MapGet("/", () => "never");
            await app.StartAsync();
        });
    }

    [TestMethod]
    public async Task NoCertificateOrBundle_StopsStartup_NamingEveryMissingKey()
    {
        Exception error = await StartExpectingFailureAsync(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
        });

        Assert.IsInstanceOfType<OptionsValidationException>(error);
        Assert.Contains("SecureComms:Certificate:CertificatePath", error.Message);
        Assert.Contains("SecureComms:TrustBundles", error.Message);
    }

    [TestMethod]
    public async Task MissingKeyFile_StopsStartup_NamingTheKeyAndTheFile()
    {
        using var dir = new TemporaryFolder();
        string cert = Path.Combine(dir.Path, "svid.pem");
        string key = Path.Combine(dir.Path, "svid.key");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), cert, key);
        File.Delete(key);
        string bundle = Path.Combine(dir.Path, "bundle.pem");
        TestPki.Ca.WriteTrustBundlePem(bundle);

        Exception error = await StartExpectingFailureAsync(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:Certificate:CertificatePath"] = cert,
            ["SecureComms:Certificate:KeyPath"] = key,
            ["SecureComms:TrustBundles:example.org:Path"] = bundle,
        });

        Assert.Contains("SecureComms:Certificate:KeyPath", error.Message);
        Assert.Contains(key, error.Message);
    }

    [TestMethod]
    public async Task UnreadableCertificateFile_StopsStartup_NamingTheFile()
    {
        using var dir = new TemporaryFolder();
        string cert = Path.Combine(dir.Path, "svid.pem");
        string key = Path.Combine(dir.Path, "svid.key");
        DevelopmentCertificateAuthority.WriteCertificatePem(TestPki.Issue(TestPki.Billing), cert, key);
        await File.WriteAllTextAsync(cert, "-----BEGIN CERTIFICATE-----\nnot base64\n");
        string bundle = Path.Combine(dir.Path, "bundle.pem");
        TestPki.Ca.WriteTrustBundlePem(bundle);

        Exception error = await StartExpectingFailureAsync(new Dictionary<string, string?>
        {
            ["SecureComms:Server:Urls:0"] = "https://127.0.0.1:0",
            ["SecureComms:Certificate:CertificatePath"] = cert,
            ["SecureComms:Certificate:KeyPath"] = key,
            ["SecureComms:TrustBundles:example.org:Path"] = bundle,
        });

        Assert.Contains("SecureComms:Certificate", error.Message);
        Assert.Contains(cert, error.Message);
    }

    [TestMethod]
    [DataRow("SecureComms:Server:Urls:0", "http://127.0.0.1:0", "SecureComms:Server:Urls:0", DisplayName = "plaintext SecureComms listener")]
    [DataRow("Kestrel:Endpoints:web:Url", "http://127.0.0.1:0", "Kestrel:Endpoints:web:Url", DisplayName = "plaintext Kestrel endpoint")]
    [DataRow("SecureComms:Clients:billing:BaseAddress", "http://billing:8080", "SecureComms:Clients:billing:BaseAddress", DisplayName = "plaintext client address")]
    [DataRow("SecureComms:Clients:billing:ExpectedServer", "https://billing", "SecureComms:Clients:billing:ExpectedServer", DisplayName = "client without a SPIFFE ID")]
    [DataRow("SecureComms:Authorization:Rules:0:Callers:0", "spiffe://Example.org/orders", "SecureComms:Authorization:Rules:0:Callers:0", DisplayName = "invalid caller pattern")]
    public async Task InsecureOrInvalidSetting_StopsStartup_NamingTheKey(string key, string value, string expectedKeyInMessage)
    {
        using var dir = new TemporaryFolder();
        var settings = dir.ValidSettings();
        settings[key] = value;
        if (key.StartsWith("SecureComms:Clients:billing:BaseAddress", StringComparison.Ordinal))
        {
            settings["SecureComms:Clients:billing:ExpectedServer"] = "spiffe://example.org/billing";
        }

        if (key.StartsWith("SecureComms:Authorization", StringComparison.Ordinal))
        {
            settings["SecureComms:Authorization:Rules:0:Paths:0"] = "/x";
        }

        Exception error = await StartExpectingFailureAsync(settings);

        Assert.Contains(expectedKeyInMessage, error.Message);
    }

    [TestMethod]
    public async Task PlaintextListenerOpenedForAPurpose_Starts_AndServesOnlyAnonymousEndpoints()
    {
        using var dir = new TemporaryFolder();
        var settings = dir.ValidSettings();
        settings["SecureComms:Server:PlaintextEndpoints:health:Url"] = "http://127.0.0.1:0";
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSecureComms(builder.Configuration);
        await using WebApplication app = builder.Build();
        app.MapGet("/healthz", () => "ok").AllowAnonymous();
        app.MapGet("/invoices", () => "secret").RequireCaller("spiffe://example.org/orders");
        await app.StartAsync();
        Uri plaintext = new(app.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));
        using var client = new HttpClient();

        HttpResponseMessage health = await client.GetAsync(new Uri(plaintext, "/healthz"));
        HttpResponseMessage invoices = await client.GetAsync(new Uri(plaintext, "/invoices"));

        Assert.AreEqual(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.AreEqual(System.Net.HttpStatusCode.Unauthorized, invoices.StatusCode);
        await app.StopAsync();
    }

    [TestMethod]
    public async Task AddSecureCommsTwice_IsHarmless()
    {
        using var dir = new TemporaryFolder();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(dir.ValidSettings());
        builder.Services.AddSecureComms(builder.Configuration);
        int registrations = builder.Services.Count;
        builder.Services.AddSecureComms(builder.Configuration);
        await using WebApplication app = builder.Build();
        app.MapGet("/", () => "x");

        await app.StartAsync();

        Assert.ContainsSingle(u => u.StartsWith("https://", StringComparison.Ordinal), app.Urls, "one listener, not two");
        Assert.IsLessThanOrEqualTo(4, builder.Services.Count - registrations, $"second call added {builder.Services.Count - registrations} registrations (option bindings only)");
        await app.StopAsync();
    }
}
