using System.Reflection;
using SecureComms.Testing;

namespace SecureComms.AspNetCore.Tests.Conventions;

/// <summary>
/// The shape of the public surface of every SecureComms library, checked by reflection (in the style of Duende's
/// convention tests); the exact list of public members is locked by each project's PublicAPI.Shipped.txt.
/// </summary>
[TestClass]
public sealed class PublicApiConventionTests
{
    /// <summary>Every SecureComms library whose public surface the convention tests read.</summary>
    internal static readonly Assembly[] Libraries =
    [
        typeof(SpiffeId).Assembly,                         // SecureComms
        typeof(SecureCommsAuthorizationOptions).Assembly,  // SecureComms.AspNetCore
        typeof(DevelopmentCertificateAuthority).Assembly,  // SecureComms.Testing
        typeof(SecureCommsReverseProxyBuilderExtensions).Assembly, // SecureComms.Yarp
    ];

    /// <summary>Public classes designed to be derived from; any other public class is sealed or static.</summary>
    private static readonly Type[] DesignedForExtension = [typeof(SpiffeIdAuthorizer)];

    private static IEnumerable<Type> PublicTypes() => Libraries.SelectMany(a => a.GetExportedTypes());

    [TestMethod]
    public void EveryLibrary_HasPublicTypes() =>
        Assert.IsTrue(Libraries.All(a => a.GetExportedTypes().Length > 0), "the reflection below sees each library's surface");

    [TestMethod]
    public void PublicClasses_AreSealedOrStatic_UnlessDesignedForExtension()
    {
        string[] open = OpenClasses(PublicTypes());

        Assert.IsEmpty(open, "public classes neither sealed nor static: " + string.Join(", ", open));
    }

    [TestMethod]
    public void PublicTypes_LiveInTheSecureCommsNamespaces_AndNoneInAnInternalOne()
    {
        string[] misplaced = Misplaced(PublicTypes());

        Assert.IsEmpty(misplaced, "public types outside SecureComms' namespaces or in an Internal one: " + string.Join(", ", misplaced));
    }

    [TestMethod]
    public void PublicAsyncMethods_EndInAsync_AndTakeTheirCancellationTokenLast()
    {
        string[] problems = AsyncProblems(PublicTypes());

        Assert.IsEmpty(problems, string.Join("; ", problems));
    }

    [TestMethod]
    public void TheChecks_CatchWhatTheyLookFor()
    {
        Assert.AreSequenceEqual(new[] { typeof(Fixtures.Conventions.UnsealedClass).FullName, typeof(Fixtures.Conventions.AbstractClass).FullName }, OpenClasses([typeof(Fixtures.Conventions.UnsealedClass), typeof(Fixtures.Conventions.AbstractClass), typeof(Fixtures.Conventions.BadAsyncMethods)]), SequenceOrder.InAnyOrder);
        Assert.AreSequenceEqual(new[] { typeof(Fixtures.Internal.PublicInInternal).FullName }, Misplaced([typeof(Fixtures.Internal.PublicInInternal), typeof(Fixtures.Conventions.UnsealedClass)]));
        Assert.AreSequenceEqual(new[] { "BadAsyncMethods.Fetch returns a task but is not named …Async", "BadAsyncMethods.TokenFirstAsync takes its CancellationToken before the last parameter" }, AsyncProblems([typeof(Fixtures.Conventions.BadAsyncMethods)]));
    }

    private static string[] OpenClasses(IEnumerable<Type> types) =>
        types.Where(t => t.IsClass && !t.IsSealed && !typeof(Delegate).IsAssignableFrom(t) && !DesignedForExtension.Contains(t))
            .Select(t => t.FullName!)
            .ToArray();

    private static string[] Misplaced(IEnumerable<Type> types) =>
        types.Where(t => t.Namespace is null
                || !(t.Namespace == "SecureComms" || t.Namespace.StartsWith("SecureComms.", StringComparison.Ordinal))
                || t.Namespace.Split('.').Contains("Internal"))
            .Select(t => t.FullName!)
            .ToArray();

    private static string[] AsyncProblems(IEnumerable<Type> types)
    {
        var problems = new List<string>();
        foreach (Type type in types)
        {
            foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.IsSpecialName || !IsAwaitable(method.ReturnType) || IsFrameworkContract(method))
                {
                    continue;
                }

                string name = $"{type.Name}.{method.Name}";
                if (!method.Name.EndsWith("Async", StringComparison.Ordinal))
                {
                    problems.Add($"{name} returns a task but is not named …Async");
                }

                ParameterInfo[] parameters = method.GetParameters();
                int token = Array.FindIndex(parameters, p => p.ParameterType == typeof(CancellationToken));
                if (token >= 0 && token != parameters.Length - 1)
                {
                    problems.Add($"{name} takes its CancellationToken before the last parameter");
                }
            }
        }

        return [.. problems];
    }

    private static bool IsAwaitable(Type type) =>
        type == typeof(Task) || type == typeof(ValueTask)
        || (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)));

    /// <summary>Overrides and interface implementations keep the framework's own names and parameters.</summary>
    private static bool IsFrameworkContract(MethodInfo method)
    {
        if (method.GetBaseDefinition() != method)
        {
            return true;
        }

        foreach (Type contract in method.DeclaringType!.GetInterfaces())
        {
            if (contract.Assembly == method.DeclaringType.Assembly)
            {
                continue;
            }

            InterfaceMapping map = method.DeclaringType.GetInterfaceMap(contract);
            if (map.TargetMethods.Contains(method))
            {
                return true;
            }
        }

        return false;
    }
}
