namespace SecureComms;

/// <summary>The check every option naming a file shares: set, and the file exists when start-up validates it.</summary>
internal static class ConfiguredFile
{
    /// <summary>Adds an error naming <paramref name="key"/> when <paramref name="path"/> is empty or names no file.</summary>
    internal static void Require(string key, string? path, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{key} is required.");
        }
        else if (!File.Exists(path))
        {
            errors.Add($"{key}: the file '{path}' does not exist (as seen from '{Directory.GetCurrentDirectory()}').");
        }
    }
}
