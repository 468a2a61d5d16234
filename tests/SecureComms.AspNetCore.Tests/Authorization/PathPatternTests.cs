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
    [DataRow("*/health", "/x/health", true, DisplayName = "suffix")]
    [DataRow("*/health", "/health", true, DisplayName = "suffix: the segment alone")]
    [DataRow("*/health", "/x/unhealth", false, DisplayName = "suffix stops at segment boundary")]
    [DataRow("/tenants/*/invoices", "/tenants/42/invoices", true, DisplayName = "wildcard segment")]
    [DataRow("/tenants/*/invoices", "/tenants/1/2/invoices", false, DisplayName = "wildcard is exactly one segment")]
    [DataRow("/tenants/*/invoices", "/tenants//invoices", false, DisplayName = "wildcard is not an empty segment")]
    [DataRow("/tenants/*/invoices", "/tenants/42/invoices/7", false, DisplayName = "wildcard pattern is exact in length")]
    public void Matches(string pattern, string path, bool expected)
    {
        Assert.IsTrue(PathPattern.TryParse(pattern, out PathPattern? parsed, out _));
        Assert.AreEqual(expected, parsed!.IsMatch(path));
    }

    [TestMethod]
    [DataRow("invoices")]
    [DataRow("")]
    [DataRow("/in*voices")]
    [DataRow("/in*/lines")]
    [DataRow("*/he*")]
    [DataRow("/a//b")]
    [DataRow("/a/../b")]
    public void InvalidPattern_IsRejectedWithAReason(string pattern)
    {
        Assert.IsFalse(PathPattern.TryParse(pattern, out _, out string? error));
        Assert.IsFalse(string.IsNullOrEmpty(error));
    }
}
