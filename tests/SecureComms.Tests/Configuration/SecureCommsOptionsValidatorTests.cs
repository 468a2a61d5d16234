using Microsoft.Extensions.Options;

namespace SecureComms.Tests.Configuration;

[TestClass]
public sealed class SecureCommsOptionsValidatorTests
{
    private static ValidateOptionsResult Validate(SecureCommsOptions options) => new SecureCommsOptionsValidator().Validate(null, options);

    [TestMethod]
    public void EmptyOptions_ReportEveryProblemAtOnce_EachWithItsKey()
    {
        ValidateOptionsResult result = Validate(new SecureCommsOptions());

        Assert.IsTrue(result.Failed);
        Assert.HasCount(2, result.Failures!, result.FailureMessage);
        Assert.Contains("SecureComms:Certificate:CertificatePath", result.FailureMessage);
        Assert.Contains("SecureComms:TrustBundles", result.FailureMessage);
    }

    [TestMethod]
    public void UserContext_Misconfigurations_AreEachNamedWithTheirKey()
    {
        SecureCommsOptions options = CustomSources();
        options.UserContext.TrustedGateways.Add("*");
        options.UserContext.TrustedForwarders.Add("not-a-spiffe-id");
        options.UserContext.MaxLifetime = TimeSpan.FromHours(3);
        options.Clients["billing"] = new SecureClientOptions
        {
            ExpectedServer = "spiffe://example.org/billing/*",
            UserContext = new ClientUserContextOptions { Mode = UserContextMode.Mint, Lifetime = TimeSpan.FromHours(1) },
        };
        options.Clients["billing"].UserContext!.Claims.Add("aud");

        string message = Validate(options).FailureMessage ?? string.Empty;

        Assert.Contains("SecureComms:UserContext:TrustedGateways:0 is '*'", message);
        Assert.Contains("SecureComms:UserContext:TrustedForwarders:0 'not-a-spiffe-id' is not a SPIFFE ID pattern", message);
        Assert.Contains("SecureComms:UserContext:MaxLifetime must be more than zero and at most 01:00:00", message);
        Assert.Contains("SecureComms:Clients:billing:UserContext:Lifetime must be more than zero and at most 00:10:00", message);
        Assert.Contains("SecureComms:Clients:billing:UserContext:Audience is required", message);
        Assert.Contains("SecureComms:Clients:billing:UserContext:Claims has 'aud'", message);
    }

    [TestMethod]
    public void UserContext_ForwarderWithExactServer_IsValid_AndItsAudienceIsThatServer()
    {
        SecureCommsOptions options = CustomSources();
        options.UserContext.TrustedGateways.Add("spiffe://example.org/gateway");
        options.Clients["billing"] = new SecureClientOptions
        {
            ExpectedServer = "spiffe://example.org/billing",
            UserContext = new ClientUserContextOptions { Mode = UserContextMode.Forward },
        };

        Assert.IsTrue(Validate(options).Succeeded, Validate(options).FailureMessage);
        Assert.AreEqual("spiffe://example.org/billing", UserContextHandler.EffectiveAudience(options.Clients["billing"]));
    }

    [TestMethod]
    public void MissingFiles_AreNamedWithTheirKeys()
    {
        var options = new SecureCommsOptions();
        options.Certificate.CertificatePath = "/nonexistent/svid.pem";
        options.Certificate.KeyPath = "/nonexistent/svid.key";
        options.TrustBundles["example.org"] = new TrustBundleOptions { Path = "/nonexistent/bundle.pem" };

        ValidateOptionsResult result = Validate(options);

        Assert.Contains("SecureComms:Certificate:CertificatePath: the file '/nonexistent/svid.pem' does not exist", result.FailureMessage!);
        Assert.Contains("SecureComms:Certificate:KeyPath: the file '/nonexistent/svid.key' does not exist", result.FailureMessage!);
        Assert.Contains("SecureComms:TrustBundles:example.org:Path: the file '/nonexistent/bundle.pem' does not exist", result.FailureMessage!);
    }

    [TestMethod]
    public void TwoCertificateForms_AreRejected()
    {
        var options = CustomSources();
        options.HasCustomCertificateSource = false;
        options.Certificate.CertificatePath = "a.pem";
        options.Certificate.KeyPath = "a.key";
        options.Certificate.Pkcs12Path = "a.p12";

        Assert.Contains("exactly one of", Validate(options).FailureMessage!);
    }

    [TestMethod]
    [DataRow("Example.org", DisplayName = "uppercase")]
    [DataRow("spiffe://example.org", DisplayName = "a SPIFFE ID instead of a name")]
    [DataRow("example.org:443", DisplayName = "with a port")]
    public void InvalidTrustDomainKey_IsRejected(string trustDomain)
    {
        var options = CustomSources();
        options.HasCustomTrustBundleSource = false;
        options.TrustBundles[trustDomain] = new TrustBundleOptions { Path = typeof(SecureCommsOptionsValidatorTests).Assembly.Location };

        Assert.Contains($"SecureComms:TrustBundles:{trustDomain}", Validate(options).FailureMessage!);
    }

    [TestMethod]
    [DataRow("http://billing:8080", "spiffe://example.org/billing", "BaseAddress", DisplayName = "plaintext address")]
    [DataRow("https://billing:8443", null, "ExpectedServer is required", DisplayName = "no expected server")]
    [DataRow("https://billing:8443", "billing", "is not a SPIFFE ID pattern", DisplayName = "host name instead of SPIFFE ID")]
    public void InsecureClient_IsRejected(string baseAddress, string? expectedServer, string message)
    {
        var options = CustomSources();
        options.Clients["billing"] = new SecureClientOptions { BaseAddress = new Uri(baseAddress), ExpectedServer = expectedServer };

        ValidateOptionsResult result = Validate(options);

        Assert.Contains("SecureComms:Clients:billing", result.FailureMessage!);
        Assert.Contains(message, result.FailureMessage!);
    }

    [TestMethod]
    public void ValidClient_WithCustomSources_Passes()
    {
        var options = CustomSources();
        options.Clients["billing"] = new SecureClientOptions { BaseAddress = new Uri("https://billing:8443"), ExpectedServer = "spiffe://example.org/billing" };

        Assert.IsTrue(Validate(options).Succeeded);
    }

    [TestMethod]
    public void PollingIntervalBelowOneSecond_IsRejected()
    {
        var options = CustomSources();
        options.FilePollingInterval = TimeSpan.FromMilliseconds(10);

        Assert.Contains("SecureComms:FilePollingInterval", Validate(options).FailureMessage!);
    }

    private static SecureCommsOptions CustomSources() => new() { HasCustomCertificateSource = true, HasCustomTrustBundleSource = true };
}
