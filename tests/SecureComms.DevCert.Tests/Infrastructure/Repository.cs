namespace SecureComms.DevCert.Tests;

/// <summary>Files of the repository the tests run from (the samples' configurations, the README).</summary>
internal static class Repository
{
    /// <summary>The repository root: the folder holding SecureComms.sln above the test binaries or this file.</summary>
    public static string Root { get; } =
        Find(AppContext.BaseDirectory) ?? Find(SourceDirectory()) ?? throw new InvalidOperationException("SecureComms.sln not found above the test binaries or sources.");

    /// <summary>A path below the root, from '/'-separated parts.</summary>
    public static string File(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    private static string? Find(string start)
    {
        var dir = new DirectoryInfo(start);
        while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "SecureComms.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName;
    }

    // Binaries built elsewhere (dotnet test --artifacts-path) still find the repository through this file's location.
    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
