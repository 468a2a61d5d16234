using System.Diagnostics;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace SecureComms.TestSupport;

/// <summary>
/// Imitates how the kubelet publishes a secret or config map volume: each version is a timestamped directory,
/// <c>..data</c> is a symlink to the current one, and every file is a symlink <c>name -> ..data/name</c>. An update
/// writes a new version directory, points <c>..data_tmp</c> at it, renames that over <c>..data</c> (rename(2),
/// atomic) and deletes the old version. The files' own symlinks never change, unless something else replaced a file
/// since (an atomic rename of a regular file over it): then its link is put back, by a rename as well.
/// </summary>
public sealed class KubernetesStyleVolume(string root)
{
    private string? _current;
    private int _version;

    public string Root { get; } = root;

    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Creates the next version directory; write the files into it, then <see cref="PublishAsync"/>.</summary>
    public string NewVersion()
    {
        string directory = Path.Combine(Root, $"..2026_01_01_00_00_{++_version:D2}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    public async Task PublishAsync(string version)
    {
        string temporary = Path.Combine(Root, "..data_tmp");
        File.CreateSymbolicLink(temporary, Path.GetFileName(version));
        using (Process rename = Process.Start("mv", ["-T", temporary, Path.Combine(Root, "..data")])!)
        {
            await rename.WaitForExitAsync();
            Assert.AreEqual(0, rename.ExitCode, "mv -T (rename(2)) failed");
        }

        foreach (string file in Directory.EnumerateFiles(version))
        {
            string name = Path.GetFileName(file);
            string link = Path.Combine("..data", name);
            var existing = new FileInfo(PathOf(name));
            if (existing.LinkTarget is null && !existing.Exists)
            {
                File.CreateSymbolicLink(PathOf(name), link);
            }
            else if (existing.LinkTarget != link)
            {
                string relink = PathOf($"..{name}_link_tmp");
                File.CreateSymbolicLink(relink, link);
                File.Move(relink, PathOf(name), overwrite: true);
            }
        }

        if (_current is not null)
        {
            Directory.Delete(_current, recursive: true);
        }

        _current = version;
    }
}
