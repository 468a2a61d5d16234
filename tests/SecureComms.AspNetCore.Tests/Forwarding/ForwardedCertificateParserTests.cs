using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Forwarding;

/// <summary>Forwarded client certificates in the three header formats, and an attack table of bad headers.</summary>
[TestClass]
public sealed class ForwardedCertificateParserTests
{
    private static readonly Lazy<WorkloadCertificate> Orders = new(() => TestPki.Issue(TestPki.Orders));

    private static string Pem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    private static string ByteSequence(X509Certificate2 certificate) => $":{Convert.ToBase64String(certificate.RawData)}:";

    [TestMethod]
    public void ClientCertHeader_RoundTrips()
    {
        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, ByteSequence(Orders.Value.Certificate));

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void ClientCertChainHeader_CarriesTheIntermediates_AndParametersAreIgnored()
    {
        using var intermediate = TestPki.Ca.CreateIntermediate();
        WorkloadCertificate leaf = intermediate.IssueSvid(TestPki.Orders);

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(
            ForwardedCertificateFormat.ClientCertHeader, ByteSequence(leaf.Certificate) + ";a=1", ByteSequence(intermediate.Certificate));

        Assert.IsNull(result.Failure);
        Assert.IsNotNull(result.Chain);
        Assert.HasCount(1, result.Chain);
        Assert.AreEqual(intermediate.Certificate.Thumbprint, result.Chain[0].Thumbprint);
    }

    [TestMethod]
    public void Xfcc_TakesTheRightmostElement_AppendedByTheNearestProxy()
    {
        WorkloadCertificate far = TestPki.Issue(TestPki.Analytics);
        string header = $"By=spiffe://example.org/edge;Cert=\"{Uri.EscapeDataString(Pem(far.Certificate))}\","
            + $"By=spiffe://example.org/ingress;Cert=\"{Uri.EscapeDataString(Pem(Orders.Value.Certificate))}\";URI=spiffe://example.org/orders";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void Xfcc_QuotedValues_MayHoldCommasSemicolonsAndEquals()
    {
        string header = $"Subject=\"CN=orders,O=Example;OU=a=b\";Cert=\"{Uri.EscapeDataString(Pem(Orders.Value.Certificate))}\"";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void Xfcc_HashMatchingTheCertificate_IsAccepted_InEitherCase()
    {
        string hash = Convert.ToHexString(SHA256.HashData(Orders.Value.Certificate.RawData)).ToLowerInvariant();
        string header = $"Hash={hash};Cert=\"{Uri.EscapeDataString(Pem(Orders.Value.Certificate))}\"";

        Assert.IsNull(ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header).Failure);
    }

    [TestMethod]
    public void Xfcc_PlusSignsInTheEncodedPem_AreNotTurnedIntoSpaces()
    {
        string pem = Pem(Orders.Value.Certificate);
        Assert.IsTrue(pem.Contains('+', StringComparison.Ordinal) || pem.Contains('/', StringComparison.Ordinal), "the PEM has characters that form-decoding would damage");
        string header = $"Cert=\"{pem.Replace("\n", "%0A", StringComparison.Ordinal)}\"";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void NginxEscapedPem_RoundTrips()
    {
        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString(Pem(Orders.Value.Certificate)));

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void HeadersOfExactlyTheMaximumLength_AreRead_OneCharacterMore_IsTooLarge()
    {
        string header = ByteSequence(Orders.Value.Certificate);
        int max = header.Length;

        Assert.IsNull(ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, header, maxLength: max).Failure);
        Assert.AreEqual("TooLarge", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, header, maxLength: max - 1).Failure);
        Assert.IsNull(ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, header, header, maxLength: max).Failure, "a chain header of the maximum length");
        Assert.AreEqual("TooLarge", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, header, header + " ", maxLength: max).Failure, "a chain header one character too long");
    }

    [TestMethod]
    public void ClientCert_NotOpenedByAColon_IsMalformed_EvenWhenTheRestReadsAsACertificate()
    {
        string header = "x" + Convert.ToBase64String(Orders.Value.Certificate.RawData) + ":";

        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.ClientCertHeader, header).Failure);
    }

    [TestMethod]
    public void Xfcc_Chain_GivesTheLeafFirst_ThenTheIntermediates()
    {
        using var intermediate = TestPki.Ca.CreateIntermediate();
        WorkloadCertificate leaf = intermediate.IssueSvid(TestPki.Orders);
        string header = $"By=spiffe://example.org/ingress;Chain=\"{Uri.EscapeDataString(Pem(leaf.Certificate) + "\n" + Pem(intermediate.Certificate) + "\n")}\"";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(leaf.Certificate.Thumbprint, result.Certificate!.Thumbprint);
        Assert.IsNotNull(result.Chain);
        Assert.HasCount(1, result.Chain);
        Assert.AreEqual(intermediate.Certificate.Thumbprint, result.Chain[0].Thumbprint);
    }

    [TestMethod]
    public void Xfcc_EmptyChain_HasNoCertificate()
    {
        Assert.AreEqual("NoCertificate", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, "By=spiffe://example.org/ingress;Chain=\"\"").Failure);
    }

    [TestMethod]
    public void Xfcc_EscapedQuoteInsideAQuotedValue_DoesNotEndIt()
    {
        // The Subject holds '";Cert=' escaped: read as text, it cannot smuggle a Cert pair in.
        string header = $"Subject=\"CN=a\\\";Cert=forged\";Cert=\"{Uri.EscapeDataString(Pem(Orders.Value.Certificate))}\"";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void Xfcc_BackslashEndingAnUnterminatedQuote_IsMalformed()
    {
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, "By=spiffe://example.org/ingress;Cert=\"abc\\").Failure);
    }

    [TestMethod]
    public void Xfcc_EmptyPairs_AreSkipped()
    {
        string header = $";Cert=\"{Uri.EscapeDataString(Pem(Orders.Value.Certificate))}\";;";

        ForwardedCertificateResult result = ForwardedCertificateParser.Parse(ForwardedCertificateFormat.EnvoyXfcc, header);

        Assert.IsNull(result.Failure);
        Assert.AreEqual(Orders.Value.Certificate.Thumbprint, result.Certificate!.Thumbprint);
    }

    [TestMethod]
    public void Nginx_Dash_MeansNoCertificate()
    {
        Assert.AreEqual("Missing", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, "-").Failure);
    }

    [TestMethod]
    public void Nginx_OnlyExactlyOnePemCertificate_IsRead()
    {
        string pem = Pem(Orders.Value.Certificate);
        using var key = ECDsa.Create();
        string publicKey = key.ExportSubjectPublicKeyInfoPem();

        Assert.IsNull(ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString("\n" + pem + "\n")).Failure, "whitespace around the PEM");
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString(pem + "junk")).Failure, "text after the PEM");
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString(pem + "\njunk")).Failure, "a line of text after the PEM");
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString("junk" + pem)).Failure, "text before the PEM");
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString("junk\n" + pem)).Failure, "a line of text before the PEM");
        Assert.AreEqual("Malformed", ForwardedCertificateParser.Parse(ForwardedCertificateFormat.NginxEscapedPem, Uri.EscapeDataString(publicKey)).Failure, "a PEM of another label");
    }

    public static IEnumerable<object?[]> Attacks()
    {
        string pem = Uri.EscapeDataString(Pem(Orders.Value.Certificate));
        string other = Convert.ToHexString(SHA256.HashData(TestPki.Issue(TestPki.Analytics).Certificate.RawData));
        yield return ["empty header", (int)ForwardedCertificateFormat.ClientCertHeader, "", "Missing"];
        yield return ["nginx says no certificate", (int)ForwardedCertificateFormat.NginxEscapedPem, "-", "Missing"];
        yield return ["oversized header", (int)ForwardedCertificateFormat.ClientCertHeader, ":" + new string('A', ForwardedCertificateParser.DefaultMaxHeaderLength) + ":", "TooLarge"];
        yield return ["Client-Cert without colons", (int)ForwardedCertificateFormat.ClientCertHeader, Convert.ToBase64String(Orders.Value.Certificate.RawData), "Malformed"];
        yield return ["Client-Cert with trailing junk", (int)ForwardedCertificateFormat.ClientCertHeader, ByteSequence(Orders.Value.Certificate) + "junk", "Malformed"];
        yield return ["Client-Cert with garbage base64", (int)ForwardedCertificateFormat.ClientCertHeader, ":!!!not-base64!!!:", "Malformed"];
        yield return ["Client-Cert with bytes that are not a certificate", (int)ForwardedCertificateFormat.ClientCertHeader, ":AAECAwQ=:", "Malformed"];
        yield return ["XFCC Hash that does not match Cert", (int)ForwardedCertificateFormat.EnvoyXfcc, $"Hash={other};Cert=\"{pem}\"", "HashMismatch"];
        yield return ["XFCC unbalanced quote", (int)ForwardedCertificateFormat.EnvoyXfcc, $"Cert=\"{pem}", "Malformed"];
        yield return ["XFCC pair without '='", (int)ForwardedCertificateFormat.EnvoyXfcc, $"Cert\"{pem}\"", "Malformed"];
        yield return ["XFCC without any certificate", (int)ForwardedCertificateFormat.EnvoyXfcc, "By=spiffe://example.org/ingress;URI=spiffe://example.org/orders", "NoCertificate"];
        yield return ["nginx truncated PEM", (int)ForwardedCertificateFormat.NginxEscapedPem, pem[..(pem.Length / 2)], "Malformed"];

        // Two header values arrive joined by ','; the certificate must not depend on which of them happens to parse.
        string analytics = Uri.EscapeDataString(Pem(TestPki.Issue(TestPki.Analytics).Certificate));
        yield return ["nginx two values, the first a client's", (int)ForwardedCertificateFormat.NginxEscapedPem, $"{analytics},{pem}", "Malformed"];
        yield return ["nginx two values, the first truncated", (int)ForwardedCertificateFormat.NginxEscapedPem, $"{pem[..(pem.Length / 2)]},{pem}", "Malformed"];
        yield return ["nginx text after the PEM", (int)ForwardedCertificateFormat.NginxEscapedPem, pem + "junk", "Malformed"];
        yield return ["XFCC Cert holding two PEMs", (int)ForwardedCertificateFormat.EnvoyXfcc, $"Cert=\"{analytics}{pem}\"", "Malformed"];
    }

    [TestMethod]
    [DynamicData(nameof(Attacks))]
    public void BadHeader_GivesItsFailureReason_NeverAnException(string attack, int format, string header, string failure)
    {
        ForwardedCertificateResult result = ForwardedCertificateParser.Parse((ForwardedCertificateFormat)format, header);

        Assert.IsNull(result.Certificate, attack);
        Assert.AreEqual(failure, result.Failure, attack);
    }
}
