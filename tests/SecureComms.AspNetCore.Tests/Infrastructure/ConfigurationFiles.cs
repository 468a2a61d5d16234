namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Files a service watches (settings, policy, trust bundles), changed the way operators' tools change them.</summary>
internal static class ConfigurationFiles
{
    /// <summary>
    /// Replaces a file as configuration tools and Kubernetes do: written beside it, then renamed over it, so a reload
    /// never reads it half written (a half-written file is reported as unreadable, rightly, but once more).
    /// </summary>
    public static async Task ReplaceAsync(string path, string contents)
    {
        string next = path + ".next";
        await File.WriteAllTextAsync(next, contents);
        File.Move(next, path, overwrite: true);
    }
}
