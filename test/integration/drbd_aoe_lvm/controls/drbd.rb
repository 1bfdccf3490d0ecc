# frozen_string_literal: true

control 'drbd-config' do
  title 'DRBD resources of the Pacemaker/DRBD guide'
  describe package('drbd-utils') do
    it { should be_installed }
  end
  %w[one-disk data-disk].each do |res|
    describe file("/etc/drbd.d/#{res}.res") do
      it { should exist }
      its('content') { should match(/resource #{res}/) }
    end
  end
  describe command('drbdadm dump all') do
    its('exit_status') { should eq 0 }
  end
end
