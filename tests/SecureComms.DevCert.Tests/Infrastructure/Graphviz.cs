using System.Diagnostics;

namespace SecureComms.DevCert.Tests;

/// <summary>Graphviz's <c>dot</c>, the renderer of <c>policy graph --format dot</c> and <c>svg</c>.</summary>
internal static class Graphviz
{
    /// <summary>
    /// Skips the test when dot is missing; CI installs it (Debian package graphviz) and sets
    /// SECURECOMMS_REQUIRE_INTEROP=1, which turns a missing dot into a failure.
    /// </summary>
    public static void RequireOrSkip()
    {
        if (IsInstalled)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("SECURECOMMS_REQUIRE_INTEROP") == "1")
        {
            Assert.Fail("Graphviz's dot is not installed, and SECURECOMMS_REQUIRE_INTEROP=1 requires interop tests to run.");
        }

        Assert.Inconclusive("Graphviz's dot is not installed (apt-get install graphviz); this test needs it.");
    }

    public static bool IsInstalled =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "dot")));

    /// <summary>Renders DOT text as SVG: the exit code, the SVG and dot's complaints.</summary>
    public static (int ExitCode, string Svg, string Error) RenderSvg(string dot)
    {
        var start = new ProcessStartInfo("dot", "-Tsvg") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        process.StandardInput.Write(dot);
        process.StandardInput.Close();
        Task<string> error = process.StandardError.ReadToEndAsync();
        string svg = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, svg, error.GetAwaiter().GetResult());
    }
}
