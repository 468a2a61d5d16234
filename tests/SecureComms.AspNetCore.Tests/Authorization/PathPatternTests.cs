namespace SecureComms.AspNetCore.Tests.Authorization;

[TestClass]
public sealed class PathPatternTests
{
    [TestMethod]
    [DataRow("/invoices", "/invoices", true)]
    [DataRow("/invoices", "/INVOICES", true, DisplayName = "case-insensitive, like routing")]
    [DataRow("/invoices", "/invoices/1", false)]
    [DataRow("/invoices/*", "/invoices", true)]
    [DataRow("/invoices/*", "/invoices/1/lines", true)]
    [DataRow("/invoices/*", "/invoicesx", false, DisplayName = "prefix stops at segment boundary")]
    [DataRow("/invoices/*", "/invoice", false)]
    [DataRow("/*", "/anything/at/all", true)]
    public void Matches(string pattern, string path, bool expected)
    {
        Assert.IsTrue(PathPattern.TryParse(pattern, out PathPattern? parsed, out _));
        Assert.AreEqual(expected, parsed!.IsMatch(path));
    }

    [TestMethod]
    [DataRow("invoices")]
    [DataRow("")]
    [DataRow("/in*voices")]
    [DataRow("/invoices/*/lines")]
    public void InvalidPattern_IsRejectedWithAReason(string pattern)
    {
        Assert.IsFalse(PathPattern.TryParse(pattern, out _, out string? error));
        Assert.IsFalse(string.IsNullOrEmpty(error));
    }
}
