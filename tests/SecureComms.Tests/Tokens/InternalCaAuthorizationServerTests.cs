using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using SecureComms.Testing;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// An authorization server whose certificate comes from an internal CA (a host-name certificate, neither an SVID nor
/// trusted by the system) is trusted through <c>Token:ServerCaBundlePath</c>: the chain must end at a CA of that file
/// and the certificate must name the host; anything else is refused with the reason in the error.
/// </summary>
[TestClass]
public sealed class InternalCaAuthorizationServerTests
{
    [TestMethod]
    [DataRow("localhost", "internal", null, DisplayName = "chains to the CA file, names the host: trusted")]
    [DataRow("token.internal.test", "internal", "RemoteCertificateNameMismatch", DisplayName = "another host name: refused")]
    [DataRow("localhost", "other", "RemoteCertificateChainErrors (", DisplayName = "CA file of another CA: refused")]
    [DataRow("localhost", null, "RemoteCertificateChainErrors (", DisplayName = "no CA file, system trust: refused")]
    public async Task TokenServer_WithAnInternalCaCertificate_IsTrustedOnlyThroughTheCaFile_AndByHostName(string dnsName, string? caFile, string? refusal)
    {
        using var dir = new TemporaryFolder();
        using var internalCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("internal.test"));
        using var otherCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("other.test"));
        internalCa.WriteTrustBundlePem(dir.File("internal.pem"));
        otherCa.WriteTrustBundlePem(dir.File("other.pem"));
        await using TokenTestBed bed = await TokenTestBed.StartAsync(server: s =>
        {
            s.TlsCertificate = HostCertificate(internalCa, dnsName);
            s.HostName = "localhost";
        });
        using CertificateBoundTokenProvider provider = bed.Provider(bed.Options(o =>
        {
            o.TokenEndpoint = null;
            o.Authority = bed.Server.Issuer; // https://localhost:{port}: metadata, then the token endpoint, both over this TLS
            o.ExpectedServer = null;
            o.ServerCaBundlePath = caFile is null ? null : dir.File(caFile + ".pem");
            o.MaxRetries = 0;
        }));

        if (refusal is null)
        {
            AccessToken token = await provider.GetTokenAsync(CancellationToken.None);
            Assert.AreEqual(bed.Certificates.Current.Sha256Thumbprint, TokenTestBed.BoundThumbprint(token));
            return;
        }

        TokenAcquisitionException error = await Assert.ThrowsExactlyAsync<TokenAcquisitionException>(() => provider.GetTokenAsync(CancellationToken.None).AsTask());
        Assert.AreEqual("discovery_failed", error.Error);
        Assert.Contains("SecureConnectionError: " + refusal, error.Message);
        if (caFile is not null && refusal.StartsWith("RemoteCertificateChainErrors", StringComparison.Ordinal))
        {
            Assert.Contains("against the configured CA file", error.Message);
        }

        Assert.AreEqual(0, bed.Server.TokenRequestCount);
    }

    [TestMethod]
    public void MissingOrCorruptCaFile_FailsStartUp_NamingTheKeyAndTheFile()
    {
        using var dir = new TemporaryFolder();
        File.WriteAllText(dir.File("corrupt.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        File.WriteAllText(dir.File("empty.pem"), "no certificate here\n");
        var options = new SecureCommsOptions { HasCustomCertificateSource = true, HasCustomTrustBundleSource = true };
        foreach ((string name, string file) in new[] { ("a", "missing.pem"), ("b", "corrupt.pem"), ("c", "empty.pem") })
        {
            options.Clients[name] = new SecureClientOptions
            {
                ExpectedServer = "spiffe://example.org/billing",
                Token = new AccessTokenOptions { Authority = new Uri("https://auth.internal.test"), ClientId = "orders", ServerCaBundlePath = dir.File(file) },
            };
        }

        options.Clients["d"] = new SecureClientOptions
        {
            ExpectedServer = "spiffe://example.org/billing",
            Token = new AccessTokenOptions { Authority = new Uri("https://auth.internal.test"), ClientId = "orders", ServerCaBundlePath = dir.File("corrupt.pem"), ExpectedServer = "spiffe://example.org/auth" },
        };

        ValidateOptionsResult result = new SecureCommsOptionsValidator().Validate(null, options);

        string message = result.FailureMessage ?? string.Empty;
        Assert.Contains($"SecureComms:Clients:a:Token:ServerCaBundlePath: the file '{dir.File("missing.pem")}' does not exist", message);
        Assert.Contains($"SecureComms:Clients:b:Token:ServerCaBundlePath: the file '{dir.File("corrupt.pem")}' is not a PEM bundle of CA certificates", message);
        Assert.Contains($"SecureComms:Clients:c:Token:ServerCaBundlePath: the file '{dir.File("empty.pem")}' holds no PEM certificate", message);
        Assert.Contains("SecureComms:Clients:d:Token:ServerCaBundlePath and SecureComms:Clients:d:Token:ExpectedServer are both set", message);
    }

    /// <summary>A TLS server certificate of <paramref name="ca"/> for <paramref name="dnsName"/>: DNS SAN, serverAuth, no SPIFFE ID.</summary>
    internal static SslStreamCertificateContext HostCertificate(DevelopmentCertificateAuthority ca, string dnsName)
    {
        X509Certificate2 leaf = ca.IssueCertificate(new SvidSpec { DnsSans = [dnsName], CommonName = dnsName, ExtendedKeyUsageOids = [SvidSpec.ServerAuthOid] });
        return SslStreamCertificateContext.Create(leaf, ca.Chain, offline: true);
    }
}
