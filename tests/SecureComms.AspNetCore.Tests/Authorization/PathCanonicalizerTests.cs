namespace SecureComms.AspNetCore.Tests.Authorization;

/// <summary>
/// The one form policy rules are matched against: repeated slashes collapsed, a trailing slash dropped, and every path
/// whose meaning a server or proxy could read differently refused (dot segments, encoded separators, backslash, NUL).
/// </summary>
[TestClass]
public sealed class PathCanonicalizerTests
{
    [TestMethod]
    [DataRow("", "/", DisplayName = "empty: the root")]
    [DataRow("/", "/", DisplayName = "the root stays the root")]
    [DataRow("//", "/", DisplayName = "slashes only: the root")]
    [DataRow("///", "/", DisplayName = "three slashes only: the root")]
    [DataRow("/admin", "/admin", DisplayName = "already canonical: unchanged")]
    [DataRow("/admin/", "/admin", DisplayName = "trailing slash dropped")]
    [DataRow("/admin//", "/admin", DisplayName = "trailing slashes collapsed, then dropped")]
    [DataRow("//admin", "/admin", DisplayName = "leading slashes collapsed")]
    [DataRow("/a//b///c", "/a/b/c", DisplayName = "inner slashes collapsed")]
    [DataRow("/a/b/", "/a/b", DisplayName = "trailing slash after several segments")]
    [DataRow("/a.", "/a.", DisplayName = "a dot inside a segment is no dot segment")]
    [DataRow("/.a", "/.a", DisplayName = "a segment starting with a dot")]
    [DataRow("/..a", "/..a", DisplayName = "a segment starting with two dots")]
    [DataRow("/a..", "/a..", DisplayName = "a segment ending with two dots")]
    [DataRow("/.well-known/jwks", "/.well-known/jwks", DisplayName = "dot-led segment among others")]
    [DataRow("/.../a", "/.../a", DisplayName = "three dots are a name, not a dot segment")]
    [DataRow("/a%", "/a%", DisplayName = "a lone percent at the end")]
    [DataRow("/a%2", "/a%2", DisplayName = "a cut percent-escape at the end")]
    [DataRow("/a%5", "/a%5", DisplayName = "a cut percent-escape of a backslash at the end")]
    [DataRow("/a%2E", "/a%2E", DisplayName = "an escape of another character than a separator")]
    [DataRow("/a%3F", "/a%3F", DisplayName = "an escape starting with neither 2 nor 5")]
    [DataRow("/a%5D", "/a%5D", DisplayName = "%5 followed by another letter than C")]
    [DataRow("/a%22b", "/a%22b", DisplayName = "%2 followed by another digit than F")]
    [DataRow("/a2F", "/a2F", DisplayName = "2F without a percent")]
    public void CanonicalPath_IsRewrittenToItsOneForm(string path, string expected)
    {
        Assert.IsTrue(PathCanonicalizer.TryCanonicalize(path, out string canonical), path);
        Assert.AreEqual(expected, canonical, path);
    }

    [TestMethod]
    [DataRow(".", DisplayName = "a dot alone")]
    [DataRow("..", DisplayName = "two dots alone")]
    [DataRow("./admin", DisplayName = "a dot segment first, without a leading slash")]
    [DataRow("../admin", DisplayName = "a dot-dot segment first, without a leading slash")]
    [DataRow("/.", DisplayName = "a dot segment at the end")]
    [DataRow("/..", DisplayName = "a dot-dot segment at the end")]
    [DataRow("/admin/.", DisplayName = "a trailing dot segment")]
    [DataRow("/admin/..", DisplayName = "a trailing dot-dot segment")]
    [DataRow("/./admin", DisplayName = "a dot segment in the middle")]
    [DataRow("/x/../admin", DisplayName = "a dot-dot segment in the middle")]
    [DataRow("//./admin", DisplayName = "a dot segment after doubled slashes")]
    [DataRow("/%2Fadmin", DisplayName = "encoded slash")]
    [DataRow("/%2fadmin", DisplayName = "encoded slash, lower case")]
    [DataRow("/admin%5C", DisplayName = "encoded backslash at the very end")]
    [DataRow("/admin%5cx", DisplayName = "encoded backslash, lower case")]
    [DataRow("/admin%2F", DisplayName = "encoded slash at the very end")]
    [DataRow("/admin\\x", DisplayName = "backslash")]
    [DataRow("\\admin", DisplayName = "backslash first")]
    [DataRow("/admin\0", DisplayName = "NUL")]
    public void AmbiguousPath_IsRefused(string path)
    {
        Assert.IsFalse(PathCanonicalizer.TryCanonicalize(path, out _), path);
    }
}
