using System.Diagnostics;

namespace SecureComms.Tests.Certificates;

/// <summary>
/// Imitates how the kubelet publishes a secret or config map volume: each version is a timestamped directory,
/// <c>..data</c> is a symlink to the current one, and every file is a symlink <c>name -> ..data/name</c>. An update
/// writes a new version directory, points <c>..data_tmp</c> at it, renames that over <c>..data</c> (rename(2),
/// atomic) and deletes the old version. The files' own symlinks never change.
/// </summary>
internal sealed class KubernetesStyleVolume(string root)
{
    private string? _current;
    private int _version;

    public string Root { get; } = root;

    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Creates the next version directory; write the files into it, then <see cref="PublishAsync"/>.</summary>
    public string NewVersion()
    {
        string directory = Path.Combine(Root, $"..2026_01_01_00_00_0{++_version}.{Guid.NewGuid():N}");
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
            if (!Path.Exists(PathOf(name)))
            {
                File.CreateSymbolicLink(PathOf(name), Path.Combine("..data", name));
            }
        }

        if (_current is not null)
        {
            Directory.Delete(_current, recursive: true);
        }

        _current = version;
    }
}
