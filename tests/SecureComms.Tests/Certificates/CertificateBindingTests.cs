using System.Text;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// Reading the RFC 8705 §3.1 binding out of a <c>cnf</c> claim: only a JSON object (RFC 7800 §3.1) with one string
/// <c>x5t#S256</c> binds; every other shape is refused as malformed, and no input throws.
/// </summary>
[TestClass]
public sealed class CertificateBindingTests
{
    [TestMethod]
    [DataRow("""{"x5t#S256":"abc"}""", true, "abc", DisplayName = "an object with x5t#S256")]
    [DataRow("""{"jkt":"xyz"}""", true, null, DisplayName = "an object with another confirmation method only")]
    [DataRow("""{}""", true, null, DisplayName = "an empty object")]
    [DataRow("""[{"x5t#S256":"abc"}]""", false, null, DisplayName = "an array whose first element binds")]
    [DataRow("""{"x5t#S256":"abc"}""" + " ", true, "abc", DisplayName = "trailing white space")]
    [DataRow("""{"x5t#S256":42}""", false, null, DisplayName = "x5t#S256 a number")]
    [DataRow("""{"x5t#S256":null}""", false, null, DisplayName = "x5t#S256 null")]
    [DataRow("""{"x5t#S256":["abc"]}""", false, null, DisplayName = "x5t#S256 an array")]
    [DataRow("""{"x5t#S256":"abc","x5t#S256":"def"}""", false, null, DisplayName = "x5t#S256 twice")]
    [DataRow("""{"x5t#S256":"\ud800"}""", false, null, DisplayName = "x5t#S256 an escaped lone surrogate")]
    [DataRow("""{"x5t\ud800#S256":"abc"}""", false, null, DisplayName = "a member name escaping a lone surrogate")]
    [DataRow("\"{\\\"x5t#S256\\\":\\\"abc\\\"}\"", false, null, DisplayName = "a JSON string holding the object")]
    [DataRow("not json", false, null, DisplayName = "not JSON")]
    [DataRow("", false, null, DisplayName = "empty")]
    public void ClaimValue_BindsOnlyAsAnObjectWithOneStringThumbprint(string cnfJson, bool wellFormed, string? thumbprint)
    {
        bool read = CertificateBinding.TryReadThumbprint(cnfJson, out string? bound);

        Assert.AreEqual(wellFormed, read);
        Assert.AreEqual(thumbprint, bound);
    }

    [TestMethod]
    public void ClaimValueWithARawLoneSurrogate_IsMalformed_NeverAnException()
    {
        bool read = CertificateBinding.TryReadThumbprint("{\"x5t#S256\":\"\ud800\"}", out string? bound);

        Assert.IsFalse(read);
        Assert.IsNull(bound);
    }

    [TestMethod]
    [DataRow("""{"sub":"a","cnf":{"x5t#S256":"abc"}}""", true, "abc", DisplayName = "cnf an object")]
    [DataRow("""{"sub":"a"}""", true, null, DisplayName = "no cnf")]
    [DataRow("""{"sub":"a","cnf":"{\"x5t#S256\":\"abc\"}"}""", false, null, DisplayName = "cnf a string holding the object")]
    [DataRow("""{"sub":"a","cnf":[{"x5t#S256":"abc"}]}""", false, null, DisplayName = "cnf an array of one binding object")]
    [DataRow("""{"cnf":{"x5t#S256":"zzz"},"cnf":{"x5t#S256":"abc"}}""", false, null, DisplayName = "cnf twice")]
    [DataRow("""{"\u0063nf":"{\"x5t#S256\":\"abc\"}"}""", false, null, DisplayName = "cnf with an escaped name, a string")]
    [DataRow("""{"sub":"a","cnf":null}""", false, null, DisplayName = "cnf null")]
    [DataRow("""{"sub":"a","cnf":{"x5t#S256":"\udc00"}}""", false, null, DisplayName = "a lone low surrogate")]
    [DataRow("""{"sub":"a","cnf":{"x5t\ud800#S256":"abc"}}""", false, null, DisplayName = "a cnf member name escaping a lone surrogate")]
    [DataRow("""["cnf"]""", false, null, DisplayName = "a payload that is not an object")]
    public void Payload_BindsOnlyThroughOneCnfObject(string payload, bool wellFormed, string? thumbprint)
    {
        bool read = CertificateBinding.TryReadFromPayload(Encoding.UTF8.GetBytes(payload), out string? bound);

        Assert.AreEqual(wellFormed, read);
        Assert.AreEqual(thumbprint, bound);
    }
}
