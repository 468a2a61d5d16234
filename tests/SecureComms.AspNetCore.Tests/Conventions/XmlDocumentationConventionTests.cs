using System.Reflection;
using System.Xml.Linq;

namespace SecureComms.AspNetCore.Tests.Conventions;

/// <summary>
/// Every public type of every SecureComms library has an XML summary in the documentation file it ships with (the file
/// IntelliSense and the NuGet package show), read from the file itself rather than trusted to the compiler's settings.
/// </summary>
[TestClass]
public sealed class XmlDocumentationConventionTests
{
    private static readonly Assembly[] Libraries = PublicApiConventionTests.Libraries;

    public static IEnumerable<object[]> LibraryNames() => Libraries.Select(a => new object[] { a.GetName().Name! });

    [TestMethod]
    [DynamicData(nameof(LibraryNames))]
    public void EveryPublicType_HasAnXmlSummary_InTheLibrarysDocumentationFile(string library)
    {
        Assembly assembly = Libraries.Single(a => a.GetName().Name == library);
        string path = Path.ChangeExtension(assembly.Location, ".xml");
        Assert.IsTrue(File.Exists(path), $"{library} ships no XML documentation file next to it ({path})");

        string[] undocumented = Undocumented(assembly.GetExportedTypes(), XDocument.Load(path));

        Assert.IsEmpty(undocumented, "public types without an XML summary: " + string.Join(", ", undocumented));
    }

    [TestMethod]
    public void TheCheck_ReportsTypesWithoutASummary_AndTypesWithAnEmptyOne()
    {
        XDocument documentation = XDocument.Parse(
            """
            <doc><members>
              <member name="T:SecureComms.AspNetCore.Tests.Fixtures.Conventions.UnsealedClass"><summary>Documented.</summary></member>
              <member name="T:SecureComms.AspNetCore.Tests.Fixtures.Conventions.AbstractClass"><summary>  </summary></member>
              <member name="T:SecureComms.AspNetCore.Tests.Fixtures.Internal.PublicInInternal"><inheritdoc /></member>
            </members></doc>
            """);

        string[] undocumented = Undocumented(
            [
                typeof(Fixtures.Conventions.UnsealedClass),
                typeof(Fixtures.Conventions.AbstractClass),
                typeof(Fixtures.Conventions.BadAsyncMethods),
                typeof(Fixtures.Internal.PublicInInternal),
            ],
            documentation);

        Assert.AreSequenceEqual(
            new[] { typeof(Fixtures.Conventions.AbstractClass).FullName, typeof(Fixtures.Conventions.BadAsyncMethods).FullName },
            undocumented,
            SequenceOrder.InAnyOrder);
    }

    /// <summary>The types whose documentation-comment ID (<c>T:Namespace.Outer.Inner</c>) has no non-empty summary or inheritdoc.</summary>
    private static string[] Undocumented(IEnumerable<Type> types, XDocument documentation)
    {
        var documented = documentation.Descendants("member")
            .Where(m => m.Element("inheritdoc") is not null || !string.IsNullOrWhiteSpace(m.Element("summary")?.Value))
            .Select(m => (string?)m.Attribute("name"))
            .ToHashSet(StringComparer.Ordinal);
        return types.Where(t => !documented.Contains("T:" + t.FullName!.Replace('+', '.')))
            .Select(t => t.FullName!)
            .ToArray();
    }
}
