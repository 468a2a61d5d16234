namespace SecureComms.AspNetCore.Tests.Authorization;

[TestClass]
public sealed class PathPatternTests
{
    [TestMethod]
    [DataRow("/invoices", "/invoices", true)]
    [DataRow("/invoices", "/INVOICES", true, DisplayName = "case-insensitive, like routing")]
    [DataRow("/invoices", "/invoices/1", false)]
    [DataRow("/invoices/", "/invoices", true, DisplayName = "exact with a trailing slash: the canonical path without it")]
    [DataRow("/tenants/*/", "/tenants/42", true, DisplayName = "wildcard with a trailing slash: the canonical path without it")]
    [DataRow("/invoices/*", "/invoices", true)]
    [DataRow("/invoices/*", "/invoices/1/lines", true)]
    [DataRow("/invoices/*", "/invoicesx", false, DisplayName = "prefix stops at segment boundary")]
    [DataRow("/invoices/*", "/invoice", false)]
    [DataRow("/*", "/anything/at/all", true)]
    [DataRow("*/health", "/x/health", true, DisplayName = "suffix")]
    [DataRow("*/health", "/health", true, DisplayName = "suffix: the segment alone")]
    [DataRow("*/health", "/x/unhealth", false, DisplayName = "suffix stops at segment boundary")]
    [DataRow("*/a", "/x/a", true, DisplayName = "suffix of a one-character segment")]
    [DataRow("*/a", "/x/b", false, DisplayName = "suffix of a one-character segment: another segment")]
    [DataRow("/tenants/*/invoices", "/tenants/42/invoices", true, DisplayName = "wildcard segment")]
    [DataRow("/tenants/*/invoices", "/tenants/1/2/invoices", false, DisplayName = "wildcard is exactly one segment")]
    [DataRow("/tenants/*/invoices", "/tenants//invoices", false, DisplayName = "wildcard is not an empty segment")]
    [DataRow("/tenants/*/invoices", "/tenants/42/invoices/7", false, DisplayName = "wildcard pattern is exact in length")]
    [DataRow("/orders/{id}", "/orders/42", true, DisplayName = "route parameter: one segment")]
    [DataRow("/orders/{id}", "/ORDERS/42", true, DisplayName = "route parameter: literal segments case-insensitive")]
    [DataRow("/orders/{id}", "/orders", false, DisplayName = "route parameter is not optional (unlike /orders/*)")]
    [DataRow("/orders/{id}", "/orders/42/items", false, DisplayName = "route parameter is exactly one segment (unlike /orders/*)")]
    [DataRow("/orders/{id:int}/items", "/orders/42/items", true, DisplayName = "route parameter with a constraint: one segment, any value")]
    [DataRow("/orders/{id:int}/items", "/orders/42/lines", false, DisplayName = "route parameter: the literal after it still counts")]
    [DataRow("/files/{**path}", "/files", true, DisplayName = "catch-all: the prefix itself")]
    [DataRow("/files/{**path}", "/files/a/b/c", true, DisplayName = "catch-all: everything below")]
    [DataRow("/files/{*path}", "/filesx", false, DisplayName = "catch-all stops at segment boundary")]
    [DataRow("/{**path}", "/anything/at/all", true, DisplayName = "catch-all as the only segment: every path")]
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
    [DataRow("*//", DisplayName = "a suffix of slashes only: it would match every path")]
    [DataRow("/a//b")]
    [DataRow("/a/../b")]
    [DataRow("/orders/{id?}", DisplayName = "optional parameter: the policy would read wider than it is written")]
    [DataRow("/orders/{id=1}", DisplayName = "defaulted parameter")]
    [DataRow("/v{version}/orders", DisplayName = "parameter inside a segment")]
    [DataRow("/files/{**path}/x", DisplayName = "catch-all before the end")]
    [DataRow("/tenants/{id}/{**path}", DisplayName = "catch-all after a parameter")]
    [DataRow("/{id}/{**path}", DisplayName = "catch-all after a parameter in the first segment")]
    [DataRow("/orders/{}", DisplayName = "parameter without a name")]
    [DataRow("/orders/{a}{b}", DisplayName = "two parameters in one segment")]
    [DataRow("/orders/{a}}", DisplayName = "a stray closing brace after a parameter")]
    [DataRow("/orders/ab}", DisplayName = "a closing brace without an opening one")]
    [DataRow("/orders/{id*}", DisplayName = "a star inside a parameter that is no catch-all")]
    [DataRow("/orders/./{id}", DisplayName = "dot segment in a route template")]
    [DataRow("/orders/../{id}", DisplayName = "dot-dot segment in a route template")]
    [DataRow("/orders/{id}/*", DisplayName = "template and wildcard mixed")]
    [DataRow("/orders/{id", DisplayName = "unclosed parameter")]
    [DataRow("orders/{id}", DisplayName = "no leading slash")]
    public void InvalidPattern_IsRejectedWithAReason(string pattern)
    {
        Assert.IsFalse(PathPattern.TryParse(pattern, out _, out string? error));
        Assert.IsFalse(string.IsNullOrEmpty(error));
    }
}
